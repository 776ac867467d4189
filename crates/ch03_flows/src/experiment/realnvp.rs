//! RealNVP on the dequantised digits from start to report: trained on x + noise with early
//! stopping on the validation NLL of the dequantised images, evaluated by that NLL and by the
//! bound it gives on the discrete NLL.

use std::f64::consts::LN_2;

use anyhow::Result;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use dgm_core::data::{Digits, Split};
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, finish_digits, fit_digits};
use dgm_core::metrics::{bits_per_dim, split_mean};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clamp_to_digit_range;
use crate::config::RealNvpConfig;
use crate::realnvp::RealNvp;

/// Seed of the dequantisation noise of every evaluation, so validation and test numbers are
/// reproducible and comparable from epoch to epoch.
pub const EVAL_NOISE_SEED: u64 = 2017;

// ANCHOR: dequantize
/// v = x + (1 - u) / 2 with u ~ U[0, 1): each integer pixel becomes a point of (x, x + 1/2],
/// the book's uniform dequantisation.
///
/// # Shapes
/// - x, u: [batch, D]
/// - returns: [batch, D]
pub fn dequantize(x: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
    x + (u.neg() + 1.0) * 0.5
}

/// -log p(v) averaged over a split, v dequantised with noise drawn from [`EVAL_NOISE_SEED`].
pub fn dequantized_nll(model: &RealNvp, split: &Split, batch_size: usize, device: &Device) -> f64 {
    let mut rng = StdRng::seed_from_u64(EVAL_NOISE_SEED);
    split_mean(split, batch_size, device, |x| {
        let [batch, dim] = x.dims();
        let u: Vec<f32> = (0..batch * dim).map(|_| rng.random::<f32>()).collect();
        let u = Tensor::from_data(TensorData::new(u, [batch, dim]), device);
        model.log_prob(dequantize(x, u)).neg()
    })
}

/// An upper bound on the discrete NLL, -log P(x), from the density of the dequantised data.
///
/// The boxes x + (0, 1/2]^D of different images do not overlap, so P(x) = integral of p over the
/// box is a distribution on the integers, and by Jensen's inequality
/// -log P(x) = -log(2^-D E_u p(x + u)) <= -E_u log p(x + u) + D ln 2.
pub fn discrete_nll_bound(dequantized_nll: f64, dim: usize) -> f64 {
    dequantized_nll + dim as f64 * LN_2
}
// ANCHOR_END: dequantize

// ANCHOR: loss
/// The training loss of a batch of integer images: the mean of -log p(x + noise), with fresh
/// dequantisation noise for every batch.
pub fn dequantized_loss(model: &RealNvp, x: Tensor<2>) -> Tensor<1> {
    let u = Tensor::random(x.dims(), Distribution::Uniform(0.0, 1.0), &x.device());
    model.loss(dequantize(x, u))
}
// ANCHOR_END: loss

/// RealNVP on the digits on the command line.
pub struct RealNvpCommand;

impl DigitModel for RealNvpCommand {
    type Config = RealNvpConfig;
    type Network = RealNvp;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        "realnvp"
    }

    fn build(&self, config: &RealNvpConfig, device: &Device) -> RealNvp {
        RealNvp::new(&config.flow, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &RealNvpConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    fn loss(&self, _: &RealNvpConfig, realnvp: &RealNvp, x: Tensor<2>) -> Tensor<1> {
        dequantized_loss(realnvp, x)
    }

    /// Samples on the digits' scale: each value v in (x, x + 1/2] belongs to pixel value floor(v).
    fn generate(
        &self,
        config: &RealNvpConfig,
        realnvp: &RealNvp,
        n: usize,
        device: &Device,
    ) -> Tensor<2> {
        clamp_to_digit_range(realnvp.sample(n, config.flow.dim, device).floor())
    }

    /// Trains with early stopping, evaluates the best model on the test split, draws samples and
    /// writes every output of the run.
    fn train(&self, config: &RealNvpConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let batch = config.schedule.batch_size;
        let (run, fitted) = fit_digits(
            self,
            config,
            digits,
            ctx,
            "val_nll_dequantized",
            |realnvp| dequantized_nll(&realnvp.valid(), &digits.val, batch, &ctx.device),
        )?;

        let best = fitted.best_model.valid();
        let test_nll = dequantized_nll(&best, &digits.test, batch, &ctx.device);
        let bound = discrete_nll_bound(test_nll, config.flow.dim);
        let metrics = [
            ("test_nll_dequantized", test_nll),
            ("test_nll_discrete_bound", bound),
            ("test_bpd", bits_per_dim(bound, config.flow.dim)),
        ];
        finish_digits(self, config, &run, &fitted, &metrics, &DIGIT_ARTIFACTS)
    }
}
