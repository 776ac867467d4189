//! The causal-convolution ARM from start to report: Tomczak's protocol of early stopping on the
//! validation NLL, the exact test NLL of the best model, and its samples.

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::{Digits, Split};
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, finish_digits, fit_digits};
use dgm_core::metrics::{nll_metrics, split_mean};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use crate::arm::CausalConvArm;
use crate::config::ArmConfig;

// ANCHOR: nll
/// The exact negative log-likelihood of a split: sum over its images of -log p(x), divided by N.
pub fn nll(model: &CausalConvArm, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}
// ANCHOR_END: nll

/// The causal-convolution ARM on the command line.
pub struct CausalConv;

impl DigitModel for CausalConv {
    type Config = ArmConfig;
    type Network = CausalConvArm;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        "causal-conv"
    }

    fn build(&self, config: &ArmConfig, device: &Device) -> CausalConvArm {
        CausalConvArm::new(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &ArmConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    fn loss(&self, _: &ArmConfig, arm: &CausalConvArm, x: Tensor<2>) -> Tensor<1> {
        arm.loss(x)
    }

    /// 64 sequential network evaluations, one pixel each.
    fn generate(
        &self,
        config: &ArmConfig,
        arm: &CausalConvArm,
        n: usize,
        device: &Device,
    ) -> Tensor<2> {
        arm.sample(n, config.dim, device)
    }

    /// Trains with early stopping on the validation NLL, evaluates the best model on the test
    /// split, draws samples and writes every output of the run.
    fn train(&self, config: &ArmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let batch = config.schedule.batch_size;
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_nll", |arm| {
            nll(&arm.valid(), &digits.val, batch, &ctx.device)
        })?;

        let best = fitted.best_model.valid();
        let test_nll = nll(&best, &digits.test, batch, &ctx.device);
        let metrics = nll_metrics(test_nll, config.dim);
        finish_digits(self, config, &run, &fitted, &metrics, &DIGIT_ARTIFACTS)
    }
}
