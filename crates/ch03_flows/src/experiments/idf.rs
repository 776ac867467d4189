//! The integer discrete flow on the digits.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, Split, to_host};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload,
    save_and_score_samples, save_real_digits, write_digit_samples,
};
use dgm_core::metrics::{bits_per_dim, split_mean};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;

use super::clamp_to_digit_range;
use crate::config::IdfConfig;
use crate::idf::Idf;

/// This model's subcommand.
pub const MODEL: &str = "idf";

/// Adamax with the config's learning rate and batch size.
fn trainer(config: &IdfConfig, ctx: &RunContext) -> Trainer {
    Trainer::adamax(config.learning_rate, config.batch_size, ctx)
}

/// The exact NLL of a split: sum over its images of -log P(x), divided by N.
pub fn nll(model: &Idf, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}

/// Trains on the raw integer pixels with early stopping, evaluates the best model on the test
/// split, draws samples and writes every output of the run. Returns the report it wrote.
pub fn train_and_report(config: &IdfConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = trainer(config, ctx);
    let model = Idf::new(config, trainer.device());
    let model = if config.data_init {
        let all: Vec<usize> = (0..digits.train.len()).collect();
        model.with_prior_fitted_to(digits.train.rows(&all, trainer.device()))
    } else {
        model
    };
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
        |model, x| model.loss(x),
        |model| nll(&model.valid(), &digits.val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_nll = nll(&best, &digits.test, config.batch_size, &ctx.device);
    let samples = to_host(clamp_to_digit_range(best.sample(SAMPLES)));
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
    let metrics = [
        ("test_nll", test_nll),
        ("test_bpd", bits_per_dim(test_nll, config.dim)),
        fd,
        confidence,
    ];
    run.finish(ctx, &fitted, parameters, config, &metrics, &DIGIT_ARTIFACTS)
}

/// The integer discrete flow on the command line.
pub struct IdfCommand;

/// The integer discrete flow started at the data ([`IdfConfig::data_init`]) on the command line.
pub struct IdfDataInitCommand;

impl ModelCommand for IdfDataInitCommand {
    const MODEL: &'static str = "idf-data-init";
    type Config = IdfConfig;

    fn preset(quick: bool) -> IdfConfig {
        IdfConfig {
            data_init: true,
            ..IdfCommand::preset(quick)
        }
    }

    fn train(config: &IdfConfig, ctx: &RunContext) -> Result<Report> {
        IdfCommand::train(config, ctx)
    }

    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        IdfCommand::sample(ctx, n, grid, samples_out)
    }

    fn bench(config: &IdfConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        IdfCommand::bench(config, ctx, passes)
    }
}

impl ModelCommand for IdfCommand {
    const MODEL: &'static str = MODEL;
    type Config = IdfConfig;

    fn train(config: &IdfConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images, clamped to 0..16
    /// (see [`write_digit_samples`]). Returns the grid's path.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, model) = reload(ctx, Idf::new)?;
        let samples = to_host(clamp_to_digit_range(model.sample(n)));
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &IdfConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = trainer(config, ctx);
        let model = Idf::new(config, trainer.device());
        measure(
            ctx,
            model,
            &mut trainer,
            &digits.train,
            passes,
            |model, x| model.loss(x),
            |model| {
                to_host(model.valid().sample(GRID_IMAGES));
            },
        )
    }
}
