//! The hierarchical VAE on the digits from start to report, and the verbs that reuse its
//! checkpoint (sample, bench).

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use ch04_vae::experiments::pictures::{Autoencoder, save_interpolation, save_reconstructions};
use ch04_vae::experiments::vae::{VariationalBound, neg_elbo, nll_iw};
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, to_host};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, Trainer, reload, save_real_digits, time_seconds,
    time_training, write_digit_samples,
};
use dgm_core::images::{DIGITS_GRID, save_grid};
use dgm_core::metrics::bits_per_dim;
use dgm_core::optim::AdamaxConfig;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;

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

/// Adamax with the config's learning rate and batch size.
fn trainer(config: &HvaeConfig, ctx: &RunContext) -> Trainer {
    let adamax = AdamaxConfig::new().init();
    Trainer::new(adamax, config.learning_rate, config.batch_size, ctx)
}

/// Trains with early stopping on the validation -ELBO, evaluates the best model (BatchNorm
/// with its running statistics) on the test split, and writes every output of the run.
pub fn train_and_report(config: &HvaeConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = trainer(config, ctx);
    let model = Hvae::new(config, trainer.device());
    let parameters = model.parameters();
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
        |model, x| model.loss(x),
        |model| neg_elbo(&model.valid(), &digits.val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_neg_elbo = neg_elbo(&best, &digits.test, config.batch_size, &ctx.device);
    let test_nll_iw = nll_iw(&best, &digits.test, config.iw_samples, &ctx.device);
    let samples = best.sample(GRID_IMAGES, config.latent, &ctx.device);
    save_grid(&run.dir.path("samples.png"), &to_host(samples), DIGITS_GRID)?;
    save_reconstructions(
        &run.dir.path("reconstructions.png"),
        &best,
        &digits.test,
        &ctx.device,
    )?;
    save_interpolation(
        &run.dir.path("interpolation.png"),
        &best,
        &digits.test,
        &ctx.device,
    )?;
    let mut artifacts = DIGIT_ARTIFACTS.to_vec();
    artifacts.extend([
        ("reconstructions", "reconstructions.png"),
        ("interpolation", "interpolation.png"),
    ]);
    let metrics = [
        ("test_neg_elbo", test_neg_elbo),
        ("test_nll_iw", test_nll_iw),
        ("test_bpd", bits_per_dim(test_nll_iw, config.dim)),
    ];
    run.finish(ctx, &fitted, parameters, config, &metrics, &artifacts)
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
        let samples = to_host(model.sample(n, config.latent, &ctx.device));
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &HvaeConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = trainer(config, ctx);
        let model = Hvae::new(config, trainer.device());
        let (model, s_per_epoch) =
            time_training(model, &mut trainer, &digits.train, passes, |model, x| {
                model.loss(x)
            })?;
        let sample_seconds = time_seconds(|| {
            to_host(
                model
                    .valid()
                    .sample(GRID_IMAGES, config.latent, &ctx.device),
            );
        });
        Ok(Bench::new(ctx, s_per_epoch, sample_seconds))
    }
}
