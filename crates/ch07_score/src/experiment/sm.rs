//! Denoising score matching on the digits from start to report: early stopping on the
//! validation loss, the test loss of the best model, its samples and its Langevin chains.

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::{Digits, Split, to_unit_scale};
use dgm_core::experiment::{DigitModel, fit_digits};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use super::{finish_with_path, fixed_draw_mean, path_end};
use crate::config::SmConfig;
use crate::sm::{ScoreNet, dsm_loss, dsm_loss_at, langevin_chain, score_net};

/// The denoising score-matching loss per image averaged over a split, with 8 fixed noise draws
/// per image (the book's "nll", a loss, not a likelihood).
pub fn dsm_split_loss(score: &ScoreNet, split: &Split, config: &SmConfig, device: &Device) -> f64 {
    fixed_draw_mean(
        split,
        config.schedule.batch_size,
        0.0,
        device,
        |x, _t, eps| dsm_loss_at(|x| score.forward(x), x, eps, config.sigma).mean(),
    )
}

/// Denoising score matching on the command line.
pub struct ScoreMatching;

impl DigitModel for ScoreMatching {
    type Config = SmConfig;
    type Network = ScoreNet;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        "sm"
    }

    fn build(&self, config: &SmConfig, device: &Device) -> ScoreNet {
        score_net(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &SmConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    fn loss(&self, config: &SmConfig, score: &ScoreNet, x: Tensor<2>) -> Tensor<1> {
        dsm_loss(score, to_unit_scale(x), config.sigma)
    }

    /// The end of a Langevin chain from uniform noise.
    fn generate(
        &self,
        config: &SmConfig,
        score: &ScoreNet,
        n: usize,
        device: &Device,
    ) -> Tensor<2> {
        path_end(langevin_chain(score, n, config, device))
    }

    /// Trains with early stopping on the validation loss, evaluates the best model on the test
    /// split, draws samples and Langevin chains, and writes every output.
    fn train(&self, config: &SmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_dsm_loss", |score| {
            dsm_split_loss(&score.valid(), &digits.val, config, &ctx.device)
        })?;

        let best = fitted.best_model.valid();
        let test_loss = dsm_split_loss(&best, &digits.test, config, &ctx.device);
        let path = |n| langevin_chain(&best, n, config, &ctx.device);
        finish_with_path(&run, &fitted, &best, path, &[("test_dsm_loss", test_loss)])
    }
}
