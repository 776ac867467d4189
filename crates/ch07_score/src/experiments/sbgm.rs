//! The SDE model on the digits from start to report, and the verbs that reuse its checkpoint.

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
use crate::config::SbgmConfig;
use crate::sbgm::{
    ScoreNet, VeSde, denoising_loss, denoising_loss_at, log_likelihood, sample_path, score_net,
};

/// The weighted denoising loss averaged over a split, with 8 fixed draws of t and noise per
/// image.
pub fn val_loss(score: &ScoreNet, split: &Split, config: &SbgmConfig, device: &Device) -> f64 {
    let sde = VeSde {
        sigma: config.sigma,
    };
    fixed_draw_mean(
        split,
        config.batch_size,
        config.t_min,
        device,
        |x, t, eps| denoising_loss_at(score, sde, x, t, eps).mean(),
    )
}

/// n samples on the digits' scale.
fn sample_digits(score: &ScoreNet, n: usize, config: &SbgmConfig, device: &Device) -> Vec<f32> {
    let x = sample_path(score, n, config, device)
        .pop()
        .expect("the path ends with x");
    to_host(to_digit_scale(x))
}

/// The training loss on images on the digits' scale.
fn train_loss(score: &ScoreNet, x: Tensor<2>, config: &SbgmConfig) -> Tensor<1> {
    let sde = VeSde {
        sigma: config.sigma,
    };
    denoising_loss(score, sde, to_unit_scale(x), config.t_min)
}

/// Trains with early stopping on the validation loss, computes the test likelihood by the
/// probability-flow ODE, draws samples and the sampling path, and writes every output.
pub fn train_and_report(config: &SbgmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
    let score = score_net(config, trainer.device());
    let parameters = score.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_denoising_loss",
    };
    let fitted = run.fit(
        score,
        &mut trainer,
        &digits.train,
        &settings,
        |score, x| train_loss(score, x, config),
        |score| val_loss(&score.valid(), &digits.val, config, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_loss = val_loss(&best, &digits.test, config, &ctx.device);
    let test_nll = ode_nll(&best, &digits.test, &ctx.device, |score, x| {
        log_likelihood(score, x, config)
    });
    let samples = sample_digits(&best, SAMPLES, config, &ctx.device);
    let chains = sample_path(&best, CHAINS, config, &ctx.device);
    let [nll, bpd] = ode_metrics(test_nll, config.dim);
    let metrics = [("test_denoising_loss", test_loss), nll, bpd];
    finish_with_path(
        &run, ctx, &fitted, parameters, config, &samples, &chains, &metrics,
    )
}

/// The SDE model on the command line.
pub struct SbgmCommand;

impl ModelCommand for SbgmCommand {
    const MODEL: &'static str = "sbgm";
    type Config = SbgmConfig;

    fn train(config: &SbgmConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, score) = reload(ctx, score_net)?;
        let config: SbgmConfig = config;
        let samples = sample_digits(&score, n, &config, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &SbgmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
        let score = score_net(config, trainer.device());
        measure(
            ctx,
            score,
            &mut trainer,
            &digits.train,
            passes,
            |score, x| train_loss(score, x, config),
            |score| {
                sample_digits(&score.valid(), GRID_IMAGES, config, &ctx.device);
            },
        )
    }
}
