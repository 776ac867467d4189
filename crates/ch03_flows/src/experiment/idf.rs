//! The integer discrete flow on the digits from start to report: trained on the raw integer
//! pixels with early stopping on the exact validation NLL, evaluated by the exact test NLL.

use anyhow::Result;
use burn::prelude::*;
use dgm_core::config::Preset;
use dgm_core::data::{Digits, Split};
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, Run, finish_digits, save_real_digits};
use dgm_core::metrics::{nll_metrics, split_mean};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use super::clamp_to_digit_range;
use crate::config::IdfConfig;
use crate::idf::Idf;

/// The exact NLL of a split: sum over its images of -log P(x), divided by N.
pub fn nll(model: &Idf, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}

/// The integer discrete flow on the command line: the book's `idf`, or with `data_init` the
/// flow started at the data (`idf-data-init`, see [`IdfConfig::data_init`]).
pub struct IdfCommand {
    pub data_init: bool,
}

impl DigitModel for IdfCommand {
    type Config = IdfConfig;
    type Network = Idf;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        if self.data_init {
            "idf-data-init"
        } else {
            "idf"
        }
    }

    fn config(&self, quick: bool) -> IdfConfig {
        IdfConfig {
            data_init: self.data_init,
            ..IdfConfig::preset(quick)
        }
    }

    fn build(&self, config: &IdfConfig, device: &Device) -> Idf {
        Idf::new(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &IdfConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    fn loss(&self, _: &IdfConfig, idf: &Idf, x: Tensor<2>) -> Tensor<1> {
        idf.loss(x)
    }

    /// Integers drawn from the flow, clamped to the digits' range 0..16.
    fn generate(&self, _: &IdfConfig, idf: &Idf, n: usize, _: &Device) -> Tensor<2> {
        clamp_to_digit_range(idf.sample(n))
    }

    /// Trains with early stopping, evaluates the best model on the test split, draws samples and
    /// writes every output of the run. With `data_init` the prior is fitted to the training
    /// pixels before the first step, so the run is assembled from the pieces of `fit_digits`.
    fn train(&self, config: &IdfConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let run = Run::start(ctx, config)?;
        save_real_digits(&run.dir, &digits.test, &ctx.device)?;
        let mut trainer = self.trainer(config, ctx);
        let idf = self.build(config, trainer.device());
        let idf = if config.data_init {
            let all: Vec<usize> = (0..digits.train.len()).collect();
            idf.with_prior_fitted_to(digits.train.rows(&all, trainer.device()))
        } else {
            idf
        };
        let batch = config.schedule.batch_size;
        let fitted = run.fit(
            idf,
            &mut trainer,
            &digits.train,
            "val_nll",
            |idf, x| idf.loss(x),
            |idf| nll(&idf.valid(), &digits.val, batch, &ctx.device),
        )?;

        let best = fitted.best_model.valid();
        let test_nll = nll(&best, &digits.test, batch, &ctx.device);
        let metrics = nll_metrics(test_nll, config.dim);
        finish_digits(self, config, &run, &fitted, &metrics, &DIGIT_ARTIFACTS)
    }
}
