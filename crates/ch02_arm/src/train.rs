//! Training and evaluation of the ARM: the loss the batch loop minimises, and the exact test NLL.

use anyhow::Result;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use dgm_core::data::Split;
use dgm_core::metrics::split_mean;
use dgm_core::train::train_epoch;
use rand::rngs::StdRng;

use crate::arm::CausalConvArm;
use crate::config::ArmConfig;

// ANCHOR: train_epoch
/// One pass over the shuffled training set, one Adamax step per batch on the mean -log p(x).
///
/// Returns the model and the mean training loss of the epoch.
pub fn train_arm_epoch(
    model: CausalConvArm,
    optimizer: &mut ModuleOptimizer,
    train: &Split,
    config: &ArmConfig,
    rng: &mut StdRng,
    epoch: usize,
    device: &Device,
) -> Result<(CausalConvArm, f64)> {
    let batches = train
        .shuffled_batches(config.batch_size, rng)
        .into_iter()
        .map(|indices| train.rows(&indices, device));
    train_epoch(
        model,
        optimizer,
        config.learning_rate,
        batches,
        epoch,
        |model, x| model.loss(x),
    )
}
// ANCHOR_END: train_epoch

// ANCHOR: nll
/// The exact negative log-likelihood of a split: sum over its images of -log p(x), divided by N.
pub fn nll(model: &CausalConvArm, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}
// ANCHOR_END: nll
