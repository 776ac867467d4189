//! The chapter's VAEs from start to report: the book's `vae` (L = 16, standard normal prior) and
//! the prior experiment `priors --prior <kind>` (L = 2), both with Tomczak's protocol of early
//! stopping on the validation -ELBO and the test numbers of the best model.

use anyhow::Result;
use burn::prelude::*;
use dgm_core::config::Preset;
use dgm_core::data::Digits;
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, fit_digits, score_digit_model};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use crate::config::{PriorKind, VaeConfig};
use crate::pictures::{
    IW_CURVE, LATENT_MAP, PICTURES, save_iw_curve, save_latent_map, save_pictures,
};
use crate::vae::{Vae, neg_elbo, test_bound_metrics};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch04_vae";

/// One of the chapter's VAEs on the command line, as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaeCommand {
    /// `vae`: the book's VAE, L = 16 and N(0, I).
    Vae,
    /// `priors --prior <kind>`: the same VAE with L = 2 and the prior `kind`.
    Priors(PriorKind),
}

impl DigitModel for VaeCommand {
    type Config = VaeConfig;
    type Network = Vae;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        match self {
            VaeCommand::Vae => "vae",
            VaeCommand::Priors(PriorKind::Standard) => "priors-standard",
            VaeCommand::Priors(PriorKind::Mog) => "priors-mog",
            VaeCommand::Priors(PriorKind::Vampprior) => "priors-vampprior",
            VaeCommand::Priors(PriorKind::Flow) => "priors-flow",
        }
    }

    fn words(&self) -> String {
        match self {
            VaeCommand::Vae => "vae".into(),
            VaeCommand::Priors(kind) => format!("priors --prior {}", kind.name()),
        }
    }

    fn config(&self, quick: bool) -> VaeConfig {
        match self {
            VaeCommand::Vae => VaeConfig::preset(quick),
            VaeCommand::Priors(kind) => VaeConfig::preset(quick).with_prior(*kind),
        }
    }

    fn build(&self, config: &VaeConfig, device: &Device) -> Vae {
        Vae::new(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &VaeConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    /// The batch mean of the one-sample -ELBO.
    fn loss(&self, _: &VaeConfig, vae: &Vae, x: Tensor<2>) -> Tensor<1> {
        vae.loss(x)
    }

    fn generate(&self, _: &VaeConfig, vae: &Vae, n: usize, device: &Device) -> Tensor<2> {
        vae.sample(n, device)
    }

    // ANCHOR: train
    /// Trains with early stopping on the validation -ELBO, evaluates the best model on the test
    /// split (-ELBO, the importance-weighted NLL), draws its samples, reconstructions and
    /// interpolations, for a 2-D latent space its latent map, and the importance-weighted curve;
    /// writes every output of the run.
    fn train(&self, config: &VaeConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let batch = config.schedule.batch_size;
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_neg_elbo", |vae| {
            neg_elbo(&vae.valid(), &digits.val, batch, &ctx.device)
        })?;

        let best = fitted.best_model.valid();
        let bound = test_bound_metrics(&best, &digits.test, batch, config.iw_samples, &ctx.device);
        let [fd, confidence] = score_digit_model(self, config, &run, &best)?;
        save_pictures(&run.dir, &best, &digits.test, &ctx.device)?;
        let mut artifacts = [DIGIT_ARTIFACTS.as_slice(), &PICTURES].concat();
        if config.latent == 2 {
            save_latent_map(&run.dir, &best, &digits.test, &ctx.device)?;
            artifacts.extend(LATENT_MAP);
        }
        // The curve starts at the test -ELBO.
        let [(_, test_neg_elbo), ..] = bound;
        let k = config.iw_samples;
        save_iw_curve(&run.dir, &best, &digits.test, k, test_neg_elbo, &ctx.device)?;
        artifacts.extend(IW_CURVE);
        let metrics = [bound.as_slice(), &[fd, confidence]].concat();
        run.finish(&fitted.summary(), best.num_params(), &metrics, &artifacts)
    }
    // ANCHOR_END: train
}
