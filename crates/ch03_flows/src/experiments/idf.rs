//! The integer discrete flow on the digits.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use dgm_core::data::{Digits, Split, to_host};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, add_artifacts, save_real_digits, time_training,
    write_digit_samples,
};
use dgm_core::images::{DIGITS_GRID, save_grid};
use dgm_core::metrics::{bits_per_dim, split_mean};
use dgm_core::optim::AdamaxConfig;
use dgm_core::report::Report;
use dgm_core::run::{RunContext, RunDir};
use dgm_core::train::{FitSettings, fit, train_epoch};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::clamp_to_digit_range;
use crate::config::IdfConfig;
use crate::idf::Idf;

/// This model's subcommand.
pub const MODEL: &str = "idf";

/// One pass over the shuffled training set on the raw integer pixels.
fn train_idf_epoch(
    model: Idf,
    optimizer: &mut ModuleOptimizer,
    train: &Split,
    config: &IdfConfig,
    rng: &mut StdRng,
    epoch: usize,
    device: &Device,
) -> Result<(Idf, f64)> {
    let batches = train
        .shuffled_batches(config.batch_size, rng)
        .into_iter()
        .map(|indices| train.rows(&indices, device));
    train_epoch(
        model,
        optimizer,
        config.learning_rate,
        batches,
        epoch,
        |model, x| model.loss(x),
    )
}

/// The exact NLL of a split: sum over its images of -log P(x), divided by N.
pub fn nll(model: &Idf, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}

/// Trains with early stopping, evaluates the best model on the test split, draws samples and
/// writes every output of the run. Returns the report it wrote.
pub fn train_and_report(config: &IdfConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let start = Instant::now();
    let run = RunDir::create(&ctx.out_dir)?;
    run.write_config(MODEL, config)?;
    save_real_digits(&run, &digits.test, &ctx.device)?;

    let train_device = ctx.device.clone().autodiff();
    let model = Idf::new(config, &train_device);
    let parameters = model.num_params();
    let mut optimizer = AdamaxConfig::new().init();
    let mut rng = StdRng::seed_from_u64(ctx.seed);
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_nll",
    };
    let fitted = fit(
        model,
        &settings,
        &run,
        |model, epoch| {
            train_idf_epoch(
                model,
                &mut optimizer,
                &digits.train,
                config,
                &mut rng,
                epoch,
                &train_device,
            )
        },
        |model| nll(&model.valid(), &digits.val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_nll = nll(&best, &digits.test, config.batch_size, &ctx.device);
    let samples = clamp_to_digit_range(best.sample(GRID_IMAGES, &ctx.device));
    save_grid(&run.path("samples.png"), &to_host(samples), DIGITS_GRID)?;

    let mut report = ctx.report(&fitted, parameters, start.elapsed().as_secs_f64(), config)?;
    report.metrics.insert("test_nll".into(), test_nll);
    report
        .metrics
        .insert("test_bpd".into(), bits_per_dim(test_nll, config.dim));
    add_artifacts(&mut report, &DIGIT_ARTIFACTS);
    ctx.write_report(&report)?;
    Ok(report)
}

/// Reloads the best checkpoint of a finished run and draws `n` new images, clamped to 0..16
/// (see [`write_digit_samples`]). Returns the grid's path.
pub fn sample_from_checkpoint(
    ctx: &RunContext,
    n: usize,
    grid: Option<PathBuf>,
    samples_out: Option<&Path>,
) -> Result<PathBuf> {
    anyhow::ensure!(n > 0, "--n must be at least 1");
    let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
    let config: IdfConfig = run.read_config(MODEL)?;
    let model = run.load_checkpoint(Idf::new(&config, &ctx.device))?;
    let samples = to_host(clamp_to_digit_range(model.sample(n, &ctx.device)));
    write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
}

/// Times `passes` training passes (no validation) and one sample grid.
pub fn bench(
    config: &IdfConfig,
    digits: &Digits,
    ctx: &RunContext,
    passes: usize,
) -> Result<Bench> {
    let train_device = ctx.device.clone().autodiff();
    let model = Idf::new(config, &train_device);
    let mut optimizer = AdamaxConfig::new().init();
    let mut rng = StdRng::seed_from_u64(ctx.seed);
    let (model, s_per_epoch) = time_training(model, passes, |model, pass| {
        train_idf_epoch(
            model,
            &mut optimizer,
            &digits.train,
            config,
            &mut rng,
            pass,
            &train_device,
        )
    })?;
    let start = Instant::now();
    to_host(model.valid().sample(GRID_IMAGES, &ctx.device));
    Ok(Bench::new(ctx, s_per_epoch, start.elapsed().as_secs_f64()))
}
