//! Flow matching on the digits from start to report: early stopping on the validation
//! flow-matching loss, the exact test likelihood of the best model by the ODE, its samples and
//! its sampling path.

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::{Digits, Split, to_unit_scale};
use dgm_core::experiment::{DigitModel, fit_digits};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use super::{finish_with_path, fixed_draw_mean, ode_metrics, ode_nll, path_end};
use crate::config::FmConfig;
use crate::fm::{VectorField, fm_loss, fm_loss_at, log_likelihood, sample_path, vector_field};

/// The flow-matching loss averaged over a split, with 8 fixed draws of t and noise per image.
pub fn val_loss(field: &VectorField, split: &Split, config: &FmConfig, device: &Device) -> f64 {
    fixed_draw_mean(
        split,
        config.schedule.batch_size,
        0.0,
        device,
        |x1, t, eps| fm_loss_at(field, x1, t, eps, config.sigma_min),
    )
}

/// Flow matching on the command line.
pub struct FlowMatching;

impl DigitModel for FlowMatching {
    type Config = FmConfig;
    type Network = VectorField;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        "fm"
    }

    fn build(&self, config: &FmConfig, device: &Device) -> VectorField {
        vector_field(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &FmConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    fn loss(&self, config: &FmConfig, field: &VectorField, x: Tensor<2>) -> Tensor<1> {
        fm_loss(field, to_unit_scale(x), config.sigma_min)
    }

    /// The end of the ODE's Euler path from noise.
    fn generate(
        &self,
        config: &FmConfig,
        field: &VectorField,
        n: usize,
        device: &Device,
    ) -> Tensor<2> {
        path_end(sample_path(field, n, config.dim, config.ode_points, device))
    }

    /// Trains with early stopping on the validation flow-matching loss, computes the test
    /// likelihood by the ODE, draws samples and the sampling path, and writes every output.
    fn train(&self, config: &FmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_fm_loss", |field| {
            val_loss(&field.valid(), &digits.val, config, &ctx.device)
        })?;

        let best = fitted.best_model.valid();
        let test_nll = ode_nll(&best, &digits.test, &ctx.device, |field, x| {
            log_likelihood(field, x, config.ode_points)
        });
        let path = |n| sample_path(&best, n, config.dim, config.ode_points, &ctx.device);
        finish_with_path(
            &run,
            &fitted,
            &best,
            path,
            &ode_metrics(test_nll, config.dim),
        )
    }
}
