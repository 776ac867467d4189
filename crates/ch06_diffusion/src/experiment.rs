//! The diffusion model on the digits from start to report: early stopping on the validation
//! -ELBO, the test -ELBO of the best model, its samples and a picture of its reverse process.

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::{Digits, Split, to_digit_scale, to_host, to_unit_scale};
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, SAMPLES, fit_digits, save_chains};
use dgm_core::metrics::split_mean;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

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

/// The diffusion model on the command line.
pub struct Diffusion;

impl DigitModel for Diffusion {
    type Config = DdgmConfig;
    type Network = Ddgm;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        "ddgm"
    }

    fn build(&self, config: &DdgmConfig, device: &Device) -> Ddgm {
        Ddgm::new(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &DdgmConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    /// The batch mean of -ELBO on the [-1, 1] scale.
    fn loss(&self, _: &DdgmConfig, ddgm: &Ddgm, x: Tensor<2>) -> Tensor<1> {
        ddgm.loss(to_unit_scale(x))
    }

    /// The last state of the reverse process, on the digits' scale.
    fn generate(&self, config: &DdgmConfig, ddgm: &Ddgm, n: usize, device: &Device) -> Tensor<2> {
        let x = ddgm
            .reverse_process(n, config.dim, device)
            .pop()
            .expect("the reverse process ends with x");
        to_digit_scale(x)
    }

    /// Trains with early stopping on the validation -ELBO, evaluates the best model on the test
    /// split, draws samples and the reverse process, and writes every output of the run.
    fn train(&self, config: &DdgmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let batch = config.schedule.batch_size;
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_neg_elbo", |ddgm| {
            neg_elbo(&ddgm.valid(), &digits.val, batch, &ctx.device)
        })?;

        let best = fitted.best_model.valid();
        let test_neg_elbo = neg_elbo(&best, &digits.test, batch, &ctx.device);
        let samples = to_host(self.generate(config, &best, SAMPLES, &ctx.device));
        // `reverse.png`: one chain per row, from z_T (left) through z_1 to the decoder's mean (right).
        let chains = best.reverse_process(CHAINS, config.dim, &ctx.device);
        save_chains(&run.dir.path("reverse.png"), &chains, chains.len())?;
        let [fd, confidence] = run.score_samples(&samples)?;
        let mut artifacts = DIGIT_ARTIFACTS.to_vec();
        artifacts.push(("reverse", "reverse.png"));
        let metrics = [("test_neg_elbo", test_neg_elbo), fd, confidence];
        run.finish(&fitted.summary(), best.num_params(), &metrics, &artifacts)
    }
}
