//! The GAN on the digits from start to report, and the verbs that reuse its checkpoint.
//!
//! There is no likelihood to stop on, so the loop is the GAN's own: a fixed number of epochs of
//! the game ([`GanTrainer::epoch`]), 1000 samples scored after each one (the only learning
//! curve a GAN has), and the last players kept.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use burn::prelude::*;
use dgm_core::backend::Stage;
use dgm_core::cli::Command;
use dgm_core::data::{Digits, Split, to_digit_scale, to_host, to_unit_scale};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, DigitSamples, GRID_IMAGES, Run, SAMPLES, reload,
    sample_quality_metrics, save_real_digits, time_passes,
};
use dgm_core::metrics::MeanAccumulator;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::snapshot::Snapshot;
use dgm_core::train::SNAPSHOT;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::GanConfig;
use crate::curve::{GanPoint, save_gan_curve, summary};
use crate::gan::{Gan, GanTrainer, Losses, discriminator_loss, generator_loss};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch10_gan";

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

/// The GAN on the command line.
pub struct GanCommand;

impl GanCommand {
    /// Trains on `digits` for the config's epochs, scoring 1000 samples after each one, saves
    /// the last players, evaluates them and writes every output.
    pub fn train_on(
        &self,
        config: &GanConfig,
        digits: &Digits,
        ctx: &RunContext,
    ) -> Result<Report> {
        let run = Run::start(ctx, config)?;
        save_real_digits(&run.dir, &digits.test, &ctx.device)?;
        let mut trainer = GanTrainer::new(ctx);
        let mut gan = Gan::new(config, trainer.device());
        let parameters = gan.num_params();
        let snapshot_path = run.dir.path(SNAPSHOT);
        let mut curve: Vec<GanPoint> = Vec::new();
        if run.resumes()
            && let Some(snapshot) = Snapshot::load_if_saved(&snapshot_path)?
        {
            gan = trainer.restore(gan, &snapshot)?;
            curve = snapshot.progress()?;
            eprintln!("resuming after epoch {}", curve.len() - 1);
        }
        let bar = ProgressBar::new(config.epochs as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {elapsed} | {msg}")
                .expect("valid template"),
        );
        bar.set_position(curve.len() as u64);
        for epoch in curve.len()..config.epochs {
            trainer.begin(Stage::Epoch(epoch));
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
            let snapshot = Snapshot::new(epoch + 1, epoch + 1 == config.epochs, &curve)?;
            trainer.save(&gan, snapshot)?.save(&snapshot_path)?;
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
        trainer.begin(Stage::Evaluation);

        let last = gan.valid();
        let test = evaluate(&last, &digits.test, config.batch_size, &ctx.device);
        let samples = sample_digits(&last, SAMPLES, &ctx.device);
        let [fd, confidence] = run.score_samples(&samples)?;
        let mut artifacts = DIGIT_ARTIFACTS.to_vec();
        artifacts.push(("fd", "fd.png"));
        let metrics = [
            ("test_discriminator_loss", test.discriminator),
            ("test_generator_loss", test.generator),
            fd,
            confidence,
        ];
        run.finish(&summary(&curve), parameters, &metrics, &artifacts)
    }
}

impl Command for GanCommand {
    type Config = GanConfig;
    type Samples = DigitSamples;

    fn name(&self) -> &'static str {
        "gan"
    }

    fn train(&self, config: &GanConfig, ctx: &RunContext) -> Result<Report> {
        self.train_on(config, &Digits::load()?, ctx)
    }

    /// Reloads the last checkpoint of a finished run and draws `n` new images.
    fn sample(&self, ctx: &RunContext, request: &DigitSamples) -> Result<Vec<PathBuf>> {
        let n = request.count()?;
        let (run, _, gan): (_, GanConfig, _) = reload(ctx, Gan::new)?;
        request.write(&run, ctx, &sample_digits(&gan, n, &ctx.device))
    }

    /// Times `passes` training passes (no scoring) and one sample grid.
    fn bench(&self, config: &GanConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
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
