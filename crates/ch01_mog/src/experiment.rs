//! The mixture on the digits from start to report, and the verbs that reuse its checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::optim::AdamWConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::cli::ModelCommand;
use dgm_core::data::{DIGITS_LEVELS, DIGITS_SIDE, Digits, Split, standard_normal, to_host};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload,
    save_and_score_samples, save_real_digits, write_digit_samples,
};
use dgm_core::metrics::split_mean;
use dgm_core::plot::captioned_images;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::MogConfig;
use crate::mog::Mog;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch01_mog";
/// Seed of the noise added to the validation and test images: the same noisy images at every
/// evaluation.
pub const EVAL_NOISE_SEED: u64 = 2023;

// ANCHOR: data
/// The book's scale: x / 17, so the 17 grey levels lie in [0, 16/17].
pub fn to_mog_scale(x: Tensor<2>) -> Tensor<2> {
    x / DIGITS_LEVELS as f64
}

/// x / 17 plus fresh Gaussian noise: without it, a component could put all its mass on one
/// grey level of a pixel that never changes (a border pixel that is always 0) and drive the
/// likelihood to infinity.
pub fn noisy(x: Tensor<2>, noise_std: f64) -> Tensor<2> {
    let noise = Tensor::random(x.dims(), Distribution::Normal(0.0, noise_std), &x.device());
    to_mog_scale(x) + noise
}

/// A split on the book's scale with noise drawn once from `EVAL_NOISE_SEED`, for evaluation.
pub fn noisy_split(split: &Split, noise_std: f64) -> Split {
    let mut rng = StdRng::seed_from_u64(EVAL_NOISE_SEED);
    let pixels = split
        .pixels
        .iter()
        .map(|&v| (v as f64 / DIGITS_LEVELS as f64 + noise_std * standard_normal(&mut rng)) as f32)
        .collect();
    Split {
        pixels,
        ..split.clone()
    }
}
// ANCHOR_END: data

/// -log p(x) in nats per image, averaged over a split already on the book's scale.
pub fn nll(model: &Mog, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}

/// AdamW with PyTorch's defaults (epsilon 1e-8) and the config's weight decay.
fn trainer(config: &MogConfig, ctx: &RunContext) -> Trainer {
    let adamw = AdamWConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(config.weight_decay as f32)
        .init();
    Trainer::new(adamw, config.learning_rate, config.batch_size, ctx)
}

/// n samples on the digits' scale (x 17, clamped to the 17 levels).
fn sample_digits(model: &Mog, n: usize) -> Vec<f32> {
    let x = model.sample(n) * DIGITS_LEVELS as f64;
    to_host(x.clamp(0.0, (DIGITS_LEVELS - 1) as f64))
}

/// `means.png` (+ CSV): every component's mean as an image, with its weight pi_k above it,
/// heaviest first.
fn save_means(path: &Path, model: &Mog) -> Result<()> {
    let means = to_host(model.means());
    let weights: Vec<f32> = to_host(model.log_weights().exp());
    let dim = means.len() / weights.len();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
    let images: Vec<f32> = order
        .iter()
        .flat_map(|&k| means[k * dim..(k + 1) * dim].to_vec())
        .collect();
    let captions: Vec<String> = order
        .iter()
        .map(|&k| format!("pi = {:.3}", weights[k]))
        .collect();
    let columns = (weights.len() as f64).sqrt().ceil() as usize;
    captioned_images(path, &images, &captions, DIGITS_SIDE, 1.0, columns)
}

/// Trains with early stopping on the validation NLL, evaluates the best mixture on the test
/// split, draws samples, and writes every output.
pub fn train_and_report(config: &MogConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let val = noisy_split(&digits.val, config.noise_std);
    let test = noisy_split(&digits.test, config.noise_std);
    let mut trainer = trainer(config, ctx);
    let model = Mog::new(config, trainer.device());
    let parameters = model.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_nll",
    };
    let fitted = run.fit(
        model,
        &mut trainer,
        &digits.train,
        &settings,
        |model, x| model.log_prob(noisy(x, config.noise_std)).neg().mean(),
        |model| nll(&model.valid(), &val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_nll = nll(&best, &test, config.batch_size, &ctx.device);
    let samples = sample_digits(&best, SAMPLES);
    save_means(&run.dir.path("means.png"), &best)?;
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
    let mut artifacts = DIGIT_ARTIFACTS.to_vec();
    artifacts.extend([("means", "means.png"), ("means_csv", "means.csv")]);
    let metrics = [("test_nll", test_nll), fd, confidence];
    run.finish(ctx, &fitted, parameters, config, &metrics, &artifacts)
}

/// The book's mixture, weights fixed at 1/K.
pub struct MogCommand;

impl ModelCommand for MogCommand {
    const MODEL: &'static str = "mog";
    type Config = MogConfig;

    fn train(config: &MogConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, model) = reload(ctx, Mog::new)?;
        let config: MogConfig = config;
        let samples = sample_digits(&model, n);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &MogConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = trainer(config, ctx);
        let model = Mog::new(config, trainer.device());
        measure(
            ctx,
            model,
            &mut trainer,
            &digits.train,
            passes,
            |model, x| model.log_prob(noisy(x, config.noise_std)).neg().mean(),
            |model| {
                sample_digits(&model.valid(), GRID_IMAGES);
            },
        )
    }
}

/// The mixture with learned weights pi = softmax(w) (`--learn-weights`).
pub struct MogLearnedCommand;

impl ModelCommand for MogLearnedCommand {
    const MODEL: &'static str = "mog-learned-weights";
    const COMMAND: &'static str = "mog --learn-weights";
    type Config = MogConfig;

    fn preset(quick: bool) -> MogConfig {
        MogConfig {
            learn_weights: true,
            ..MogCommand::preset(quick)
        }
    }

    fn train(config: &MogConfig, ctx: &RunContext) -> Result<Report> {
        MogCommand::train(config, ctx)
    }

    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        MogCommand::sample(ctx, n, grid, samples_out)
    }

    fn bench(config: &MogConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        MogCommand::bench(config, ctx, passes)
    }
}
