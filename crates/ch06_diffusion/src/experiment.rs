//! The diffusion model on the digits from start to report, and the verbs that reuse its
//! checkpoint (sample, bench).

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, Split, to_digit_scale, to_host, to_unit_scale};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload,
    save_and_score_samples, save_chains, save_real_digits, write_digit_samples,
};
use dgm_core::metrics::split_mean;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;

use crate::config::DdgmConfig;
use crate::ddgm::Ddgm;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch06_diffusion";
/// Chains drawn in `reverse.png`.
const CHAINS: usize = 8;

/// -ELBO on the [-1, 1] scale, averaged over a split (one forward sample per image).
pub fn neg_elbo(model: &Ddgm, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| {
        model.elbo(to_unit_scale(x)).neg()
    })
}

/// Adamax with the config's learning rate and batch size.
fn trainer(config: &DdgmConfig, ctx: &RunContext) -> Trainer {
    Trainer::adamax(config.learning_rate, config.batch_size, ctx)
}

/// Trains with early stopping on the validation -ELBO, evaluates the best model on the test
/// split, draws samples and the reverse process, and writes every output of the run.
pub fn train_and_report(config: &DdgmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = trainer(config, ctx);
    let model = Ddgm::new(config, trainer.device());
    let parameters = model.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_neg_elbo",
    };
    let fitted = run.fit(
        model,
        &mut trainer,
        &digits.train,
        &settings,
        |model, x| model.loss(to_unit_scale(x)),
        |model| neg_elbo(&model.valid(), &digits.val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_neg_elbo = neg_elbo(&best, &digits.test, config.batch_size, &ctx.device);
    let samples = sample_digits(&best, SAMPLES, config.dim, &ctx.device);
    // `reverse.png`: one chain per row, from z_T (left) through z_1 to the decoder's mean (right).
    let chains = best.reverse_process(CHAINS, config.dim, &ctx.device);
    save_chains(&run.dir.path("reverse.png"), &chains, chains.len())?;
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
    let mut artifacts = DIGIT_ARTIFACTS.to_vec();
    artifacts.push(("reverse", "reverse.png"));
    let metrics = [("test_neg_elbo", test_neg_elbo), fd, confidence];
    run.finish(ctx, &fitted, parameters, config, &metrics, &artifacts)
}

/// n samples on the digits' scale: the last state of the reverse process.
fn sample_digits(model: &Ddgm, n: usize, dim: usize, device: &Device) -> Vec<f32> {
    let x = model
        .reverse_process(n, dim, device)
        .pop()
        .expect("the reverse process ends with x");
    to_host(to_digit_scale(x))
}

/// The diffusion model on the command line.
pub struct DdgmCommand;

impl ModelCommand for DdgmCommand {
    const MODEL: &'static str = "ddgm";
    type Config = DdgmConfig;

    fn train(config: &DdgmConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, model) = reload(ctx, Ddgm::new)?;
        let config: DdgmConfig = config;
        let samples = sample_digits(&model, n, config.dim, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &DdgmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = trainer(config, ctx);
        let model = Ddgm::new(config, trainer.device());
        measure(
            ctx,
            model,
            &mut trainer,
            &digits.train,
            passes,
            |model, x| model.loss(to_unit_scale(x)),
            |model| {
                sample_digits(&model.valid(), GRID_IMAGES, config.dim, &ctx.device);
            },
        )
    }
}
