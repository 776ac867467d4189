//! The steps every chapter's experiment shares around its model: the picture of real data, the
//! sample files of a reload, the artifact list of the report, and the timing of `bench`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::tensor::Device;
use serde::Serialize;

use crate::data::{Split, to_host, write_npy};
use crate::images::{DIGITS_GRID, save_grid};
use crate::report::Report;
use crate::run::{RunContext, RunDir};
use crate::train::median;

/// Images in a sample grid.
pub const GRID_IMAGES: usize = 64;

/// The files every trained digit model writes, by role.
pub const DIGIT_ARTIFACTS: [(&str, &str); 7] = [
    ("samples", "samples.png"),
    ("real", "real.png"),
    ("curve", "curve.png"),
    ("curve_csv", "curve.csv"),
    ("config", "config.json"),
    ("checkpoint", "checkpoint.bpk"),
    ("summary", "summary.txt"),
];

/// Writes `real.png`: the first test digits, to set beside the samples.
pub fn save_real_digits(run: &RunDir, test: &Split, device: &Device) -> Result<()> {
    let first: Vec<usize> = (0..GRID_IMAGES.min(test.len())).collect();
    save_grid(
        &run.path("real.png"),
        &to_host(test.rows(&first, device)),
        DIGITS_GRID,
    )
}

/// Records `artifacts` (role, file name in the run directory) in the report.
pub fn add_artifacts(report: &mut Report, artifacts: &[(&str, &str)]) {
    for (role, file) in artifacts {
        report.artifacts.insert((*role).into(), (*file).into());
    }
}

/// Writes digit samples drawn from a reloaded model: a grid at `grid` (default
/// `samples-seed<seed>.png` in the run directory) and, when asked, the raw values as an
/// `n x dim` float32 `.npy` file. Returns the grid's path.
pub fn write_digit_samples(
    run: &RunDir,
    ctx: &RunContext,
    samples: &[f32],
    dim: usize,
    grid: Option<PathBuf>,
    samples_out: Option<&Path>,
) -> Result<PathBuf> {
    let grid = grid.unwrap_or_else(|| run.path(&format!("samples-seed{}.png", ctx.seed)));
    save_grid(&grid, samples, DIGITS_GRID)?;
    if let Some(path) = samples_out {
        write_npy(path, samples, &[samples.len() / dim, dim])?;
    }
    Ok(grid)
}

/// Speed of one configuration: seconds per training pass and per sample grid.
#[derive(Debug, Serialize)]
pub struct Bench {
    pub model: &'static str,
    pub threads: usize,
    pub backend: &'static str,
    /// Median seconds of a training pass over the training set.
    pub s_per_epoch: f64,
    /// Seconds to draw a grid of samples.
    pub sample_seconds: f64,
}

impl Bench {
    /// The measurement of this run's model with `threads` and `backend` filled in.
    pub fn new(ctx: &RunContext, s_per_epoch: f64, sample_seconds: f64) -> Bench {
        Bench {
            model: ctx.model,
            threads: crate::backend::threads(),
            backend: ctx.backend.name(),
            s_per_epoch,
            sample_seconds,
        }
    }
}

/// Runs `passes` timed training passes after one untimed warm-up pass (the first touches every
/// allocation for the first time). `pass(model, i)` returns the model and its mean loss, as
/// [`crate::train::train_epoch`] does. Returns the trained model and the median seconds.
pub fn time_training<M>(
    mut model: M,
    passes: usize,
    mut pass: impl FnMut(M, usize) -> Result<(M, f64)>,
) -> Result<(M, f64)> {
    let mut seconds = Vec::new();
    for i in 0..=passes {
        let start = Instant::now();
        (model, _) = pass(model, i)?;
        if i > 0 {
            seconds.push(start.elapsed().as_secs_f64());
        }
    }
    Ok((model, median(seconds)))
}
