//! The SDE model on the digits from start to report: early stopping on the validation
//! denoising loss, the test loss and the probability-flow likelihood of the best model, its
//! samples and its sampling path.

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::{Digits, Split, to_unit_scale};
use dgm_core::experiment::{DigitModel, fit_digits};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use super::{finish_with_path, fixed_draw_mean, ode_metrics, ode_nll, path_end};
use crate::config::SbgmConfig;
use crate::sbgm::{
    ScoreNet, VeSde, denoising_loss, denoising_loss_at, log_likelihood, sample_path, score_net,
};

/// The config's SDE, dx = sigma^t dw.
fn sde(config: &SbgmConfig) -> VeSde {
    VeSde {
        sigma: config.sigma,
    }
}

/// The weighted denoising loss averaged over a split, with 8 fixed draws of t and noise per
/// image.
pub fn val_loss(score: &ScoreNet, split: &Split, config: &SbgmConfig, device: &Device) -> f64 {
    let batch = config.schedule.batch_size;
    fixed_draw_mean(split, batch, config.t_min, device, |x, t, eps| {
        denoising_loss_at(score, sde(config), x, t, eps).mean()
    })
}

/// The score-based model on a variance-exploding SDE on the command line.
pub struct ScoreSde;

impl DigitModel for ScoreSde {
    type Config = SbgmConfig;
    type Network = ScoreNet;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        "sbgm"
    }

    fn build(&self, config: &SbgmConfig, device: &Device) -> ScoreNet {
        score_net(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &SbgmConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    fn loss(&self, config: &SbgmConfig, score: &ScoreNet, x: Tensor<2>) -> Tensor<1> {
        denoising_loss(score, sde(config), to_unit_scale(x), config.t_min)
    }

    /// The end of the probability-flow ODE's Euler path from noise.
    fn generate(
        &self,
        config: &SbgmConfig,
        score: &ScoreNet,
        n: usize,
        device: &Device,
    ) -> Tensor<2> {
        path_end(sample_path(score, n, config, device))
    }

    /// Trains with early stopping on the validation loss, computes the test likelihood by the
    /// probability-flow ODE, draws samples and the sampling path, and writes every output.
    fn train(&self, config: &SbgmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_denoising_loss", |score| {
            val_loss(&score.valid(), &digits.val, config, &ctx.device)
        })?;

        let best = fitted.best_model.valid();
        let test_loss = val_loss(&best, &digits.test, config, &ctx.device);
        let test_nll = ode_nll(&best, &digits.test, &ctx.device, |score, x| {
            log_likelihood(score, x, config)
        });
        let [nll, bpd] = ode_metrics(test_nll, config.dim);
        let path = |n| sample_path(&best, n, config, &ctx.device);
        let metrics = [("test_denoising_loss", test_loss), nll, bpd];
        finish_with_path(&run, &fitted, &best, path, &metrics)
    }
}
