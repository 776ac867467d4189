//! Flow matching on the digits from start to report, and the verbs that reuse its checkpoint.

use std::f64::consts::LN_2;
use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use burn::tensor::TensorData;
use dgm_core::cli::ModelCommand;
use dgm_core::data::{
    DIGITS_LEVELS, Digits, Split, standard_normal, to_digit_scale, to_host, to_unit_scale,
};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload,
    sample_quality_metrics, save_real_digits, write_digit_samples,
};
use dgm_core::images::{DIGITS_GRID, GridSpec, save_grid};
use dgm_core::metrics::split_mean;
use dgm_core::optim::AdamaxConfig;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::FmConfig;
use crate::fm::{VectorField, fm_loss, fm_loss_at, ode_log_likelihood, sample_path};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch07_score";
/// Chains drawn in `path.png`, and the states shown of each.
const CHAINS: usize = 8;
const SHOWN_STATES: usize = 10;
/// Test images per batch of the likelihood's ODE (each is repeated D times for the divergence).
const ODE_BATCH: usize = 32;

/// Adamax with the config's learning rate and batch size.
fn trainer(config: &FmConfig, ctx: &RunContext) -> Trainer {
    let adamax = AdamaxConfig::new().init();
    Trainer::new(adamax, config.learning_rate, config.batch_size, ctx)
}

/// Seed of the times and noise of every validation pass: the same draws each epoch, so that
/// early stopping compares models, not draws.
pub const EVAL_SEED: u64 = 2023;
/// Draws of (t, eps) per validation image.
const EVAL_DRAWS: usize = 8;

/// The flow-matching loss averaged over a split, with 8 fixed draws of t and noise per image.
pub fn val_loss(field: &VectorField, split: &Split, config: &FmConfig, device: &Device) -> f64 {
    let mut rng = StdRng::seed_from_u64(EVAL_SEED);
    split_mean(split, config.batch_size, device, |x| {
        let [batch, dim] = x.dims();
        let rows = batch * EVAL_DRAWS;
        // Every image EVAL_DRAWS times: [batch, D] -> [batch, draws, D] -> [batch draws, D]
        let x1 = to_unit_scale(x)
            .unsqueeze_dim::<3>(1)
            .repeat_dim(1, EVAL_DRAWS)
            .reshape([rows, dim]);
        let t: Vec<f32> = (0..rows).map(|_| rng.random::<f32>()).collect();
        let eps: Vec<f32> = (0..rows * dim)
            .map(|_| standard_normal(&mut rng) as f32)
            .collect();
        let t = Tensor::from_data(TensorData::new(t, [rows, 1]), device);
        let eps = Tensor::from_data(TensorData::new(eps, [rows, dim]), device);
        // The batch's mean loss, given to each of its images.
        fm_loss_at(field, x1, t, eps, config.sigma_min)
            .reshape([1])
            .repeat_dim(0, batch)
    })
}

/// The negative log-likelihood of a split under the ODE, nats per image on the [-1, 1] scale.
pub fn ode_nll(field: &VectorField, split: &Split, points: usize, device: &Device) -> f64 {
    let train_device = device.clone().autodiff();
    let field = field.clone().to_device(&train_device);
    split_mean(split, ODE_BATCH, &train_device, |x| {
        ode_log_likelihood(&field, to_unit_scale(x), points)
            .neg()
            .inner()
    })
}

/// n samples on the digits' scale.
fn sample_digits(field: &VectorField, n: usize, config: &FmConfig, device: &Device) -> Vec<f32> {
    let x = sample_path(field, n, config.dim, config.ode_points, device)
        .pop()
        .expect("the path ends with x");
    to_host(to_digit_scale(x))
}

/// `path.png`: one sample per row, 10 states from noise (left) to digit (right).
fn save_path(path: &Path, field: &VectorField, config: &FmConfig, device: &Device) -> Result<()> {
    let states = sample_path(field, CHAINS, config.dim, config.ode_points, device);
    let last = states.len() - 1;
    let picked: Vec<Vec<f32>> = (0..SHOWN_STATES)
        .map(|k| {
            to_host(to_digit_scale(
                states[k * last / (SHOWN_STATES - 1)].clone(),
            ))
        })
        .collect();
    let dim = config.dim;
    let mut images = Vec::with_capacity(CHAINS * SHOWN_STATES * dim);
    for chain in 0..CHAINS {
        for state in &picked {
            images.extend_from_slice(&state[chain * dim..(chain + 1) * dim]);
        }
    }
    save_grid(
        path,
        &images,
        GridSpec {
            columns: SHOWN_STATES,
            ..DIGITS_GRID
        },
    )
}

/// Trains with early stopping on the validation flow-matching loss, computes the test
/// likelihood by the ODE, draws samples and the sampling path, and writes every output.
pub fn train_and_report(config: &FmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = trainer(config, ctx);
    let field = VectorField::new(config, trainer.device());
    let parameters = field.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_fm_loss",
    };
    let fitted = run.fit(
        field,
        &mut trainer,
        &digits.train,
        &settings,
        |field, x| fm_loss(field, to_unit_scale(x), config.sigma_min),
        |field| val_loss(&field.valid(), &digits.val, config, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_nll = ode_nll(&best, &digits.test, config.ode_points, &ctx.device);
    // The density times the volume of a pixel's bin (2/17 per dimension): the discrete
    // probability the density puts near each test image, if it were flat within the bin.
    let bin = 2.0 / DIGITS_LEVELS as f64;
    let binned = test_nll - config.dim as f64 * bin.ln();
    let samples = sample_digits(&best, SAMPLES, config, &ctx.device);
    save_grid(
        &run.dir.path("samples.png"),
        &samples[..GRID_IMAGES * config.dim],
        DIGITS_GRID,
    )?;
    save_path(&run.dir.path("path.png"), &best, config, &ctx.device)?;
    let [fd, confidence] = sample_quality_metrics(&samples, &ctx.device)?;
    let mut artifacts = DIGIT_ARTIFACTS.to_vec();
    artifacts.push(("path", "path.png"));
    let metrics = [
        ("test_nll_ode", test_nll),
        ("test_bpd", binned / (config.dim as f64 * LN_2)),
        fd,
        confidence,
    ];
    run.finish(ctx, &fitted, parameters, config, &metrics, &artifacts)
}

/// Flow matching on the command line.
pub struct FmCommand;

impl ModelCommand for FmCommand {
    const MODEL: &'static str = "fm";
    type Config = FmConfig;

    fn train(config: &FmConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, field) = reload(ctx, VectorField::new)?;
        let config: FmConfig = config;
        let samples = sample_digits(&field, n, &config, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &FmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = trainer(config, ctx);
        let field = VectorField::new(config, trainer.device());
        let sigma = config.sigma_min;
        measure(
            ctx,
            field,
            &mut trainer,
            &digits.train,
            passes,
            |field, x| fm_loss(field, to_unit_scale(x), sigma),
            |field| {
                sample_digits(&field.valid(), GRID_IMAGES, config, &ctx.device);
            },
        )
    }
}
