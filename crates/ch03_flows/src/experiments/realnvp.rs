//! RealNVP on the dequantised digits.

use std::f64::consts::LN_2;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
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
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clamp_to_digit_range;
use crate::config::RealNvpConfig;
use crate::realnvp::RealNvp;

/// This model's subcommand.
pub const MODEL: &str = "realnvp";
/// Seed of the dequantisation noise of every evaluation, so validation and test numbers are
/// reproducible and comparable from epoch to epoch.
pub const EVAL_NOISE_SEED: u64 = 2017;

// ANCHOR: dequantize
/// v = x + (1 - u) / 2 with u ~ U[0, 1): each integer pixel becomes a point of (x, x + 1/2],
/// the book's uniform dequantisation.
///
/// # Shapes
/// - x, u: [batch, D]
/// - returns: [batch, D]
pub fn dequantize(x: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
    x + (u.neg() + 1.0) * 0.5
}

/// -log p(v) averaged over a split, v dequantised with noise drawn from [`EVAL_NOISE_SEED`].
pub fn dequantized_nll(model: &RealNvp, split: &Split, batch_size: usize, device: &Device) -> f64 {
    let mut rng = StdRng::seed_from_u64(EVAL_NOISE_SEED);
    split_mean(split, batch_size, device, |x| {
        let [batch, dim] = x.dims();
        let u: Vec<f32> = (0..batch * dim).map(|_| rng.random::<f32>()).collect();
        let u = Tensor::from_data(TensorData::new(u, [batch, dim]), device);
        model.log_prob(dequantize(x, u)).neg()
    })
}

/// An upper bound on the discrete NLL, -log P(x), from the density of the dequantised data.
///
/// The boxes x + (0, 1/2]^D of different images do not overlap, so P(x) = integral of p over the
/// box is a distribution on the integers, and by Jensen's inequality
/// -log P(x) = -log(2^-D E_u p(x + u)) <= -E_u log p(x + u) + D ln 2.
pub fn discrete_nll_bound(dequantized_nll: f64, dim: usize) -> f64 {
    dequantized_nll + dim as f64 * LN_2
}
// ANCHOR_END: dequantize

// ANCHOR: train_epoch
/// One pass over the shuffled training set with fresh dequantisation noise for every batch.
fn train_realnvp_epoch(
    model: RealNvp,
    optimizer: &mut ModuleOptimizer,
    train: &Split,
    config: &RealNvpConfig,
    rng: &mut StdRng,
    epoch: usize,
    device: &Device,
) -> Result<(RealNvp, f64)> {
    let batches = train
        .shuffled_batches(config.batch_size, rng)
        .into_iter()
        .map(|indices| {
            let x = train.rows(&indices, device);
            let u = Tensor::random(x.dims(), Distribution::Uniform(0.0, 1.0), device);
            dequantize(x, u)
        });
    train_epoch(
        model,
        optimizer,
        config.learning_rate,
        batches,
        epoch,
        |model, v| model.loss(v),
    )
}
// ANCHOR_END: train_epoch

/// Samples on the digits' scale: each value v in (x, x + 1/2] belongs to pixel value floor(v).
fn digit_samples(model: &RealNvp, n: usize, config: &RealNvpConfig, device: &Device) -> Vec<f32> {
    let v = model.sample(n, config.flow.dim, device);
    to_host(clamp_to_digit_range(v.floor()))
}

/// Trains with early stopping, evaluates the best model on the test split, draws samples and
/// writes every output of the run. Returns the report it wrote.
pub fn train_and_report(
    config: &RealNvpConfig,
    digits: &Digits,
    ctx: &RunContext,
) -> Result<Report> {
    let start = Instant::now();
    let run = RunDir::create(&ctx.out_dir)?;
    run.write_config(MODEL, config)?;
    save_real_digits(&run, &digits.test, &ctx.device)?;

    let train_device = ctx.device.clone().autodiff();
    let model = RealNvp::new(&config.flow, &train_device);
    let parameters = model.num_params();
    let mut optimizer = AdamaxConfig::new().init();
    let mut rng = StdRng::seed_from_u64(ctx.seed);
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_nll_dequantized",
    };
    let fitted = fit(
        model,
        &settings,
        &run,
        |model, epoch| {
            train_realnvp_epoch(
                model,
                &mut optimizer,
                &digits.train,
                config,
                &mut rng,
                epoch,
                &train_device,
            )
        },
        |model| dequantized_nll(&model.valid(), &digits.val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_nll = dequantized_nll(&best, &digits.test, config.batch_size, &ctx.device);
    let bound = discrete_nll_bound(test_nll, config.flow.dim);
    let samples = digit_samples(&best, GRID_IMAGES, config, &ctx.device);
    save_grid(&run.path("samples.png"), &samples, DIGITS_GRID)?;

    let mut report = ctx.report(&fitted, parameters, start.elapsed().as_secs_f64(), config)?;
    report
        .metrics
        .insert("test_nll_dequantized".into(), test_nll);
    report
        .metrics
        .insert("test_nll_discrete_bound".into(), bound);
    report
        .metrics
        .insert("test_bpd".into(), bits_per_dim(bound, config.flow.dim));
    add_artifacts(&mut report, &DIGIT_ARTIFACTS);
    ctx.write_report(&report)?;
    Ok(report)
}

/// Reloads the best checkpoint of a finished run and draws `n` new images (see
/// [`write_digit_samples`]). Returns the grid's path.
pub fn sample_from_checkpoint(
    ctx: &RunContext,
    n: usize,
    grid: Option<PathBuf>,
    samples_out: Option<&Path>,
) -> Result<PathBuf> {
    anyhow::ensure!(n > 0, "--n must be at least 1");
    let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
    let config: RealNvpConfig = run.read_config(MODEL)?;
    let model = run.load_checkpoint(RealNvp::new(&config.flow, &ctx.device))?;
    let samples = digit_samples(&model, n, &config, &ctx.device);
    write_digit_samples(&run, ctx, &samples, config.flow.dim, grid, samples_out)
}

/// Times `passes` training passes (no validation) and one sample grid.
pub fn bench(
    config: &RealNvpConfig,
    digits: &Digits,
    ctx: &RunContext,
    passes: usize,
) -> Result<Bench> {
    let train_device = ctx.device.clone().autodiff();
    let model = RealNvp::new(&config.flow, &train_device);
    let mut optimizer = AdamaxConfig::new().init();
    let mut rng = StdRng::seed_from_u64(ctx.seed);
    let (model, s_per_epoch) = time_training(model, passes, |model, pass| {
        train_realnvp_epoch(
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
    digit_samples(&model.valid(), GRID_IMAGES, config, &ctx.device);
    Ok(Bench::new(ctx, s_per_epoch, start.elapsed().as_secs_f64()))
}
