//! The GAN on the digits from start to report, and the verbs that reuse its checkpoint.

use std::f64::consts::LN_2;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, Split, to_digit_scale, to_host, to_unit_scale};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, reload, sample_quality_metrics,
    save_and_score_samples, save_real_digits, time_passes, write_digit_samples,
};
use dgm_core::metrics::MeanAccumulator;
use dgm_core::plot::line_plot;
use dgm_core::report::Report;
use dgm_core::run::{RunContext, RunDir};
use dgm_core::train::{CurvePoint, Fitted, ensure_finite};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::GanConfig;
use crate::gan::{Gan, discriminator_loss, generator_loss};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch10_gan";

/// Adam with PyTorch's defaults (epsilon 1e-8), one per player.
fn adam() -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(1e-8).init()
}

/// The training images of a batch: the book's [-1, 1] scale plus fresh noise, so that the
/// discriminator cannot separate real from fake by the data's 17 exact grey levels.
fn noisy_real(x: Tensor<2>, noise_std: f64) -> Tensor<2> {
    let noise = Tensor::random(x.dims(), Distribution::Normal(0.0, noise_std), &x.device());
    to_unit_scale(x) + noise
}

/// The two players with their optimisers, and the generator that shuffles the training set.
pub struct GanTrainer {
    discriminator_optimizer: ModuleOptimizer,
    generator_optimizer: ModuleOptimizer,
    rng: StdRng,
    device: Device,
}

/// One epoch's mean losses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Losses {
    pub discriminator: f64,
    pub generator: f64,
}

impl GanTrainer {
    pub fn new(ctx: &RunContext) -> GanTrainer {
        GanTrainer {
            discriminator_optimizer: adam(),
            generator_optimizer: adam(),
            rng: StdRng::seed_from_u64(ctx.seed),
            device: ctx.device.clone().autodiff(),
        }
    }

    /// The device the players are trained on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    // ANCHOR: epoch
    /// One pass over the shuffled training set. Per batch, first a discriminator step on
    /// -(log D(x) + log(1 - D(G(z)))) with the generator held fixed, then a generator step on
    /// log(1 - D(G(z'))) with a fresh z' (only the generator's parameters move).
    pub fn epoch(
        &mut self,
        mut gan: Gan,
        train: &Split,
        config: &GanConfig,
        epoch: usize,
    ) -> Result<(Gan, Losses)> {
        let (mut d_total, mut g_total) = (MeanAccumulator::default(), MeanAccumulator::default());
        let lr = config.learning_rate;
        for (b, indices) in train
            .shuffled_batches(config.batch_size, &mut self.rng)
            .into_iter()
            .enumerate()
        {
            let x = noisy_real(train.rows(&indices, &self.device), config.noise_std);
            let batch = indices.len();

            let fake = gan.generator.sample(batch, &self.device).detach();
            let d_loss = discriminator_loss(
                gan.discriminator.forward(x),
                gan.discriminator.forward(fake),
            )
            .mean();
            let d_value = d_loss.clone().into_scalar::<f32>() as f64;
            ensure_finite(d_value, epoch, b)?;
            let grads = GradientsParams::from_grads(d_loss.backward(), &gan.discriminator);
            gan.discriminator = self
                .discriminator_optimizer
                .step(lr, gan.discriminator, grads);

            let fake = gan.generator.sample(batch, &self.device);
            let g_loss = generator_loss(gan.discriminator.forward(fake)).mean();
            let g_value = g_loss.clone().into_scalar::<f32>() as f64;
            ensure_finite(g_value, epoch, b)?;
            let grads = GradientsParams::from_grads(g_loss.backward(), &gan.generator);
            gan.generator = self.generator_optimizer.step(lr, gan.generator, grads);

            d_total.add(&[d_value as f32]);
            g_total.add(&[g_value as f32]);
        }
        let losses = Losses {
            discriminator: d_total.mean(),
            generator: g_total.mean(),
        };
        Ok((gan, losses))
    }
    // ANCHOR_END: epoch
}

/// Both losses on a clean split (no training noise), each image against one fresh G(z).
pub fn evaluate(gan: &Gan, split: &Split, batch_size: usize, device: &Device) -> Losses {
    let (mut d_total, mut g_total) = (MeanAccumulator::default(), MeanAccumulator::default());
    for indices in split.batches(batch_size) {
        let x = to_unit_scale(split.rows(&indices, device));
        let d_fake = gan
            .discriminator
            .forward(gan.generator.sample(indices.len(), device));
        let d_real = gan.discriminator.forward(x);
        d_total.add(&to_host(discriminator_loss(d_real, d_fake.clone())));
        g_total.add(&to_host(generator_loss(d_fake)));
    }
    Losses {
        discriminator: d_total.mean(),
        generator: g_total.mean(),
    }
}

/// n samples on the digits' scale.
fn sample_digits(gan: &Gan, n: usize, device: &Device) -> Vec<f32> {
    to_host(to_digit_scale(gan.generator.sample(n, device)))
}

/// One row of the GAN's curve.
struct GanPoint {
    losses: Losses,
    sample_fd: f64,
    train_seconds: f64,
}

/// `curve.csv`, `curve.png` (both training losses beside their equilibrium values) and
/// `fd.png` (the sample score after every epoch).
fn save_gan_curve(run: &RunDir, curve: &[GanPoint]) -> Result<()> {
    let mut csv = String::from("epoch,discriminator_loss,generator_loss,sample_fd,train_seconds\n");
    for (epoch, p) in curve.iter().enumerate() {
        writeln!(
            csv,
            "{epoch},{},{},{},{}",
            p.losses.discriminator, p.losses.generator, p.sample_fd, p.train_seconds
        )?;
    }
    std::fs::write(run.path("curve.csv"), csv)?;
    let series = |f: &dyn Fn(&GanPoint) -> f64| -> Vec<(f64, f64)> {
        curve
            .iter()
            .enumerate()
            .map(|(e, p)| (e as f64, f(p)))
            .collect()
    };
    let last = curve.len().saturating_sub(1) as f64;
    let flat = |v: f64| vec![(0.0, v), (last, v)];
    let (dis, gen_) = (
        series(&|p| p.losses.discriminator),
        series(&|p| p.losses.generator),
    );
    // ln 4 = 2 ln 2
    let (ln4, minus_ln2) = (flat(2.0 * LN_2), flat(-LN_2));
    line_plot(
        &run.path("curve.png"),
        "training losses",
        "epoch",
        "nats",
        &[
            ("discriminator", &dis),
            ("generator", &gen_),
            ("ln 4 (D = 1/2)", &ln4),
            ("-ln 2 (D = 1/2)", &minus_ln2),
        ],
    )?;
    let fd = series(&|p| p.sample_fd);
    line_plot(
        &run.path("fd.png"),
        "sample quality after each epoch",
        "epoch",
        "sample_fd",
        &[("sample_fd (1000 samples)", &fd)],
    )
}

/// Trains for the config's epochs, scoring 1000 samples after each one (the GAN's only
/// learning curve), saves the last players, evaluates them and writes every output.
pub fn train_and_report(config: &GanConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = GanTrainer::new(ctx);
    let mut gan = Gan::new(config, trainer.device());
    let parameters = gan.num_params();
    let bar = ProgressBar::new(config.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {elapsed} | {msg}")
            .expect("valid template"),
    );
    let mut curve: Vec<GanPoint> = Vec::new();
    for epoch in 0..config.epochs {
        let start = Instant::now();
        let (trained, losses) = trainer.epoch(gan, &digits.train, config, epoch)?;
        gan = trained;
        let train_seconds = start.elapsed().as_secs_f64();
        let samples = sample_digits(&gan.valid(), SAMPLES, &ctx.device);
        let [(_, sample_fd), _] = sample_quality_metrics(&samples, &ctx.device)?;
        curve.push(GanPoint {
            losses,
            sample_fd,
            train_seconds,
        });
        run.dir.save_checkpoint(&gan)?;
        save_gan_curve(&run.dir, &curve)?;
        let line = format!(
            "epoch {epoch} | D loss {:.3} | G loss {:.3} | sample_fd {sample_fd:.1} | {train_seconds:.2} s/epoch",
            losses.discriminator, losses.generator
        );
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.set_message(line);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let last = gan.valid();
    let test = evaluate(&last, &digits.test, config.batch_size, &ctx.device);
    let samples = sample_digits(&last, SAMPLES, &ctx.device);
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
    // The report's validation fields follow the sample score from the first epoch to the last.
    let fitted = Fitted {
        best_model: (),
        best_epoch: curve.len() - 1,
        best_val: curve.last().map_or(f64::NAN, |p| p.sample_fd),
        val_name: "sample_fd",
        curve: curve
            .iter()
            .enumerate()
            .map(|(epoch, p)| CurvePoint {
                epoch,
                train_loss: p.losses.discriminator,
                val_metric: p.sample_fd,
                train_seconds: p.train_seconds,
            })
            .collect(),
    };
    let mut artifacts = DIGIT_ARTIFACTS.to_vec();
    artifacts.push(("fd", "fd.png"));
    let metrics = [
        ("test_discriminator_loss", test.discriminator),
        ("test_generator_loss", test.generator),
        fd,
        confidence,
    ];
    run.finish(ctx, &fitted, parameters, config, &metrics, &artifacts)
}

/// The GAN on the command line.
pub struct GanCommand;

impl ModelCommand for GanCommand {
    const MODEL: &'static str = "gan";
    type Config = GanConfig;

    fn train(config: &GanConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the last checkpoint of a finished run and draws `n` new images.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, gan) = reload(ctx, Gan::new)?;
        let config: GanConfig = config;
        let samples = sample_digits(&gan, n, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no scoring) and one sample grid.
    fn bench(config: &GanConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = GanTrainer::new(ctx);
        let gan = Gan::new(config, trainer.device());
        time_passes(
            ctx,
            passes,
            gan,
            |gan, pass| Ok(trainer.epoch(gan, &digits.train, config, pass)?.0),
            |gan| {
                sample_digits(&gan.valid(), GRID_IMAGES, &ctx.device);
            },
        )
    }
}
