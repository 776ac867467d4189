//! Denoising score matching on the digits from start to report, and the verbs that reuse its
//! checkpoint.

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

use super::{CHAINS, finish_with_path, fixed_draw_mean};
use crate::config::SmConfig;
use crate::sm::{ScoreNet, dsm_loss, dsm_loss_at, langevin_chain, score_net};

/// The denoising score-matching loss per image averaged over a split, with 8 fixed noise draws
/// per image (the book's "nll", a loss, not a likelihood).
pub fn dsm_split_loss(score: &ScoreNet, split: &Split, config: &SmConfig, device: &Device) -> f64 {
    fixed_draw_mean(split, config.batch_size, 0.0, device, |x, _t, eps| {
        dsm_loss_at(|x| score.forward(x), x, eps, config.sigma).mean()
    })
}

/// n samples on the digits' scale.
fn sample_digits(score: &ScoreNet, n: usize, config: &SmConfig, device: &Device) -> Vec<f32> {
    let x = langevin_chain(score, n, config, device)
        .pop()
        .expect("the chain ends with x");
    to_host(to_digit_scale(x))
}

/// Trains with early stopping on the validation loss, draws samples and Langevin chains, and
/// writes every output.
pub fn train_and_report(config: &SmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
    let score = score_net(config, trainer.device());
    let parameters = score.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_dsm_loss",
    };
    let fitted = run.fit(
        score,
        &mut trainer,
        &digits.train,
        &settings,
        |score, x| dsm_loss(score, to_unit_scale(x), config.sigma),
        |score| dsm_split_loss(&score.valid(), &digits.val, config, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_loss = dsm_split_loss(&best, &digits.test, config, &ctx.device);
    let samples = sample_digits(&best, SAMPLES, config, &ctx.device);
    let chains = langevin_chain(&best, CHAINS, config, &ctx.device);
    let metrics = [("test_dsm_loss", test_loss)];
    finish_with_path(
        &run, ctx, &fitted, parameters, config, &samples, &chains, &metrics,
    )
}

/// Denoising score matching on the command line.
pub struct SmCommand;

impl ModelCommand for SmCommand {
    const MODEL: &'static str = "sm";
    type Config = SmConfig;

    fn train(config: &SmConfig, ctx: &RunContext) -> Result<Report> {
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
        let config: SmConfig = config;
        let samples = sample_digits(&score, n, &config, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &SmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
        let score = score_net(config, trainer.device());
        measure(
            ctx,
            score,
            &mut trainer,
            &digits.train,
            passes,
            |score, x| dsm_loss(score, to_unit_scale(x), config.sigma),
            |score| {
                sample_digits(&score.valid(), GRID_IMAGES, config, &ctx.device);
            },
        )
    }
}
