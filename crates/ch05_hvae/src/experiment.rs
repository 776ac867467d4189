//! The hierarchical VAE on the digits from start to report, and the verbs that reuse its
//! checkpoint (sample, bench).

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use ch04_vae::experiments::pictures::Autoencoder;
use ch04_vae::experiments::vae::{LatentModel, Schedule, VariationalBound, train_and_evaluate};
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, to_host};
use dgm_core::experiment::{Bench, GRID_IMAGES, Trainer, measure, reload, write_digit_samples};
use dgm_core::report::Report;
use dgm_core::run::RunContext;

use crate::config::HvaeConfig;
use crate::hvae::Hvae;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch05_hvae";

impl VariationalBound for Hvae {
    fn elbo(&self, x: Tensor<2>) -> Tensor<1> {
        Hvae::elbo(self, x)
    }

    fn iw_log_likelihood(&self, x: Tensor<2>, k: usize) -> Tensor<1> {
        Hvae::iw_log_likelihood(self, x, k)
    }
}

/// Pictures work in the space of z_1, the code the decoder reads.
impl Autoencoder for Hvae {
    fn code(&self, x: Tensor<2>) -> Tensor<2> {
        self.mean_code(x)
    }

    fn picture(&self, code: Tensor<2>) -> Tensor<2> {
        self.mean_image(code)
    }
}

impl LatentModel for Hvae {
    fn parameters(&self) -> usize {
        Hvae::parameters(self)
    }

    fn generate(&self, n: usize, device: &Device) -> Tensor<2> {
        self.sample(n, device)
    }
}

impl From<&HvaeConfig> for Schedule {
    fn from(config: &HvaeConfig) -> Schedule {
        Schedule {
            batch_size: config.batch_size,
            learning_rate: config.learning_rate,
            max_epochs: config.max_epochs,
            patience: config.patience,
            iw_samples: config.iw_samples,
        }
    }
}

/// Trains with early stopping on the validation -ELBO, evaluates the best model (BatchNorm
/// with its running statistics) on the test split, and writes every output of the run
/// (chapter 4's experiment, with this model).
pub fn train_and_report(config: &HvaeConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let build = |device: &Device| Hvae::new(config, device);
    let done = train_and_evaluate(build, &Schedule::from(config), config, digits, ctx)?;
    done.run.finish(
        ctx,
        &done.fitted,
        done.parameters,
        config,
        &done.metrics,
        &done.artifacts,
    )
}

/// The hierarchical VAE on the command line.
pub struct HvaeCommand;

impl ModelCommand for HvaeCommand {
    const MODEL: &'static str = "hvae";
    type Config = HvaeConfig;

    fn train(config: &HvaeConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, model) = reload(ctx, Hvae::new)?;
        let config: HvaeConfig = config;
        let samples = to_host(model.sample(n, &ctx.device));
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &HvaeConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
        let model = Hvae::new(config, trainer.device());
        measure(
            ctx,
            model,
            &mut trainer,
            &digits.train,
            passes,
            |model, x| model.loss(x),
            |model| {
                to_host(model.valid().sample(GRID_IMAGES, &ctx.device));
            },
        )
    }
}
