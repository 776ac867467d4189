//! The hierarchical VAE on the digits from start to report: chapter 4's protocol (early stopping
//! on the validation -ELBO, the test -ELBO and importance-weighted NLL of the best model, samples,
//! reconstructions, interpolations) with chapter 4's bound and pictures, through the traits of
//! its model files.

use anyhow::Result;
use burn::prelude::*;
use ch04_vae::pictures::{Autoencoder, PICTURES, save_pictures};
use ch04_vae::vae::{VariationalBound, neg_elbo, test_bound_metrics};
use dgm_core::data::Digits;
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, fit_digits, score_digit_model};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

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

/// The hierarchical VAE on the command line.
pub struct HvaeCommand;

impl DigitModel for HvaeCommand {
    type Config = HvaeConfig;
    type Network = Hvae;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        "hvae"
    }

    fn build(&self, config: &HvaeConfig, device: &Device) -> Hvae {
        Hvae::new(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &HvaeConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    /// The batch mean of -ELBO with closed-form KLs.
    fn loss(&self, _: &HvaeConfig, hvae: &Hvae, x: Tensor<2>) -> Tensor<1> {
        hvae.loss(x)
    }

    fn generate(&self, _: &HvaeConfig, hvae: &Hvae, n: usize, device: &Device) -> Tensor<2> {
        hvae.sample(n, device)
    }

    /// Trains with early stopping on the validation -ELBO, evaluates the best model (BatchNorm
    /// with its running statistics) on the test split, draws its samples, reconstructions and
    /// interpolations, and writes every output of the run.
    fn train(&self, config: &HvaeConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let batch = config.schedule.batch_size;
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_neg_elbo", |hvae| {
            neg_elbo(&hvae.valid(), &digits.val, batch, &ctx.device)
        })?;

        let best = fitted.best_model.valid();
        let bound = test_bound_metrics(&best, &digits.test, batch, config.iw_samples, &ctx.device);
        let [fd, confidence] = score_digit_model(self, config, &run, &best)?;
        save_pictures(&run.dir, &best, &digits.test, &ctx.device)?;
        let metrics = [bound.as_slice(), &[fd, confidence]].concat();
        let artifacts = [DIGIT_ARTIFACTS.as_slice(), &PICTURES].concat();
        // The trained parameters, without the BatchNorm running statistics burn counts too.
        run.finish(&fitted.summary(), best.parameters(), &metrics, &artifacts)
    }
}
