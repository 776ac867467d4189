//! Flow matching on the digits from start to report, and the verbs that reuse its checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, Split, to_digit_scale, to_host, to_unit_scale};
use dgm_core::experiment::{
    Bench, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload, save_real_digits,
    write_digit_samples,
};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;

use super::{CHAINS, finish_with_path, fixed_draw_mean, ode_metrics, ode_nll};
use crate::config::FmConfig;
use crate::fm::{VectorField, fm_loss, fm_loss_at, log_likelihood, sample_path, vector_field};

/// The flow-matching loss averaged over a split, with 8 fixed draws of t and noise per image.
pub fn val_loss(field: &VectorField, split: &Split, config: &FmConfig, device: &Device) -> f64 {
    fixed_draw_mean(split, config.batch_size, 0.0, device, |x1, t, eps| {
        fm_loss_at(field, x1, t, eps, config.sigma_min)
    })
}

/// n samples on the digits' scale.
fn sample_digits(field: &VectorField, n: usize, config: &FmConfig, device: &Device) -> Vec<f32> {
    let x = sample_path(field, n, config.dim, config.ode_points, device)
        .pop()
        .expect("the path ends with x");
    to_host(to_digit_scale(x))
}

/// Trains with early stopping on the validation flow-matching loss, computes the test
/// likelihood by the ODE, draws samples and the sampling path, and writes every output.
pub fn train_and_report(config: &FmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
    let field = vector_field(config, trainer.device());
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
    let test_nll = ode_nll(&best, &digits.test, &ctx.device, |field, x| {
        log_likelihood(field, x, config.ode_points)
    });
    let samples = sample_digits(&best, SAMPLES, config, &ctx.device);
    let chains = sample_path(&best, CHAINS, config.dim, config.ode_points, &ctx.device);
    let [nll, bpd] = ode_metrics(test_nll, config.dim);
    let metrics = [nll, bpd];
    finish_with_path(
        &run, ctx, &fitted, parameters, config, &samples, &chains, &metrics,
    )
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
        let (run, config, field) = reload(ctx, vector_field)?;
        let config: FmConfig = config;
        let samples = sample_digits(&field, n, &config, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &FmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
        let field = vector_field(config, trainer.device());
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
