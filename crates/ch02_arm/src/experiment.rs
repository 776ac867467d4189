//! One run of the causal-convolution ARM from start to report, and the verbs that reuse its
//! checkpoint (sample, bench).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::{Digits, to_host, write_npy};
use dgm_core::images::{DIGITS_GRID, save_grid};
use dgm_core::metrics::bits_per_dim;
use dgm_core::optim::AdamaxConfig;
use dgm_core::report::Report;
use dgm_core::run::{RunContext, RunDir};
use dgm_core::train::{FitSettings, fit, median};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::arm::CausalConvArm;
use crate::config::ArmConfig;
use crate::train::{nll, train_epoch};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch02_arm";
/// This model's subcommand.
pub const MODEL: &str = "causal-conv";
/// Images in a sample grid.
const GRID_IMAGES: usize = 64;

/// Trains with early stopping, evaluates the best model on the test split, draws samples and
/// writes every output of the run. Returns the report it wrote.
pub fn train_and_report(config: &ArmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let start = Instant::now();
    let run = RunDir::create(&ctx.out_dir)?;
    run.write_config(MODEL, config)?;
    let first_test: Vec<usize> = (0..GRID_IMAGES.min(digits.test.len())).collect();
    save_grid(
        &run.path("real.png"),
        &to_host(digits.test.rows(&first_test, &ctx.device)),
        DIGITS_GRID,
    )?;

    let train_device = ctx.device.clone().autodiff();
    let model = CausalConvArm::new(config, &train_device);
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
            train_epoch(
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
    let samples = best.sample(GRID_IMAGES, config.dim, &ctx.device);
    save_grid(&run.path("samples.png"), &to_host(samples), DIGITS_GRID)?;

    let mut report = ctx.report(&fitted, parameters, start.elapsed().as_secs_f64(), config)?;
    report.metrics.insert("test_nll".into(), test_nll);
    report
        .metrics
        .insert("test_bpd".into(), bits_per_dim(test_nll, config.dim));
    for (role, file) in [
        ("samples", "samples.png"),
        ("real", "real.png"),
        ("curve", "curve.png"),
        ("curve_csv", "curve.csv"),
        ("config", "config.json"),
        ("checkpoint", "checkpoint.bpk"),
        ("summary", "summary.txt"),
    ] {
        report.artifacts.insert(role.into(), file.into());
    }
    ctx.write_report(&report)?;
    Ok(report)
}

/// Reloads the best checkpoint of a finished run and draws `n` new images.
///
/// Writes the grid to `grid` (default: `samples-seed<seed>.png` in the run directory) and, when
/// asked, the raw samples as an `n x 64` float32 `.npy` file. Returns the grid's path.
pub fn sample_from_checkpoint(
    ctx: &RunContext,
    n: usize,
    grid: Option<PathBuf>,
    samples_out: Option<&Path>,
) -> Result<PathBuf> {
    anyhow::ensure!(n > 0, "--n must be at least 1");
    let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
    let config: ArmConfig = run.read_config(MODEL)?;
    let model = run.load_checkpoint(CausalConvArm::new(&config, &ctx.device))?;
    let samples = to_host(model.sample(n, config.dim, &ctx.device));
    let grid = grid.unwrap_or_else(|| run.path(&format!("samples-seed{}.png", ctx.seed)));
    save_grid(&grid, &samples, DIGITS_GRID)?;
    if let Some(path) = samples_out {
        write_npy(path, &samples, &[n, config.dim])?;
    }
    Ok(grid)
}

/// Speed of one configuration: seconds per training pass and per sample grid.
#[derive(Debug, Serialize)]
pub struct Bench {
    pub model: &'static str,
    pub threads: usize,
    pub backend: &'static str,
    /// Median seconds of a training pass over the 1000 training digits.
    pub s_per_epoch: f64,
    /// Seconds to draw 64 samples (64 sequential network evaluations).
    pub sample_seconds: f64,
}

/// Times `passes` training passes (no validation) and one sample grid.
pub fn bench(
    config: &ArmConfig,
    digits: &Digits,
    ctx: &RunContext,
    passes: usize,
) -> Result<Bench> {
    let train_device = ctx.device.clone().autodiff();
    let mut model = CausalConvArm::new(config, &train_device);
    let mut optimizer = AdamaxConfig::new().init();
    let mut rng = StdRng::seed_from_u64(ctx.seed);
    let mut seconds = Vec::new();
    // One untimed warm-up pass: the first touches every allocation for the first time.
    for epoch in 0..=passes {
        let start = Instant::now();
        (model, _) = train_epoch(
            model,
            &mut optimizer,
            &digits.train,
            config,
            &mut rng,
            epoch,
            &train_device,
        )?;
        if epoch > 0 {
            seconds.push(start.elapsed().as_secs_f64());
        }
    }
    let start = Instant::now();
    let samples = model.valid().sample(GRID_IMAGES, config.dim, &ctx.device);
    to_host(samples);
    Ok(Bench {
        model: MODEL,
        threads: dgm_core::backend::threads(),
        backend: ctx.backend.name(),
        s_per_epoch: median(seconds),
        sample_seconds: start.elapsed().as_secs_f64(),
    })
}
