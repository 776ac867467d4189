//! One run of the causal-convolution ARM from start to report, and the verbs that reuse its
//! checkpoint (sample, bench).

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, to_host};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload,
    save_and_score_samples, save_real_digits, write_digit_samples,
};
use dgm_core::metrics::bits_per_dim;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;

use crate::arm::CausalConvArm;
use crate::config::ArmConfig;
use crate::train::nll;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch02_arm";
/// This model's subcommand.
pub const MODEL: &str = "causal-conv";

/// Adamax with the config's learning rate and batch size, as in every Tomczak example.
fn trainer(config: &ArmConfig, ctx: &RunContext) -> Trainer {
    Trainer::adamax(config.learning_rate, config.batch_size, ctx)
}

/// Trains with early stopping, evaluates the best model on the test split, draws samples and
/// writes every output of the run. Returns the report it wrote.
pub fn train_and_report(config: &ArmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = trainer(config, ctx);
    let model = CausalConvArm::new(config, trainer.device());
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
    let samples = to_host(best.sample(SAMPLES, config.dim, &ctx.device));
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
    let metrics = [
        ("test_nll", test_nll),
        ("test_bpd", bits_per_dim(test_nll, config.dim)),
        fd,
        confidence,
    ];
    run.finish(ctx, &fitted, parameters, config, &metrics, &DIGIT_ARTIFACTS)
}

/// Times `passes` training passes (no validation) and one sample grid (64 sequential network
/// evaluations).
pub fn bench(
    config: &ArmConfig,
    digits: &Digits,
    ctx: &RunContext,
    passes: usize,
) -> Result<Bench> {
    let mut trainer = trainer(config, ctx);
    let model = CausalConvArm::new(config, trainer.device());
    measure(
        ctx,
        model,
        &mut trainer,
        &digits.train,
        passes,
        |model, x| model.loss(x),
        |model| {
            to_host(model.valid().sample(GRID_IMAGES, config.dim, &ctx.device));
        },
    )
}

/// The causal-convolution ARM on the command line.
pub struct CausalConv;

impl ModelCommand for CausalConv {
    const MODEL: &'static str = MODEL;
    type Config = ArmConfig;

    fn train(config: &ArmConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images.
    ///
    /// Writes the grid to `grid` (default: `samples-seed<seed>.png` in the run directory) and, when
    /// asked, the raw samples as an `n x 64` float32 `.npy` file. Returns the grid's path.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, model) = reload(ctx, CausalConvArm::new)?;
        let samples = to_host(model.sample(n, config.dim, &ctx.device));
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    fn bench(config: &ArmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        bench(config, &Digits::load()?, ctx, passes)
    }
}
