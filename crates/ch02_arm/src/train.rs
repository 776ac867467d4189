//! Evaluation of the ARM: the exact NLL of a split.

use burn::prelude::*;
use dgm_core::data::Split;
use dgm_core::metrics::split_mean;

use crate::arm::CausalConvArm;

// ANCHOR: nll
/// The exact negative log-likelihood of a split: sum over its images of -log p(x), divided by N.
pub fn nll(model: &CausalConvArm, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}
// ANCHOR_END: nll
