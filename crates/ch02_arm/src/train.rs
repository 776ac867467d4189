//! Training and evaluation of the ARM: the batch loop the book shows, and the exact test NLL.

use anyhow::Result;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use dgm_core::data::{Split, to_host};
use dgm_core::metrics::MeanAccumulator;
use dgm_core::train::ensure_finite;
use rand::rngs::StdRng;

use crate::arm::CausalConvArm;
use crate::config::ArmConfig;

// ANCHOR: train_epoch
/// One pass over the shuffled training set, one Adamax step per batch on the mean -log p(x).
///
/// Returns the model and the mean training loss of the epoch.
pub fn train_epoch(
    mut model: CausalConvArm,
    optimizer: &mut ModuleOptimizer,
    train: &Split,
    config: &ArmConfig,
    rng: &mut StdRng,
    epoch: usize,
    device: &Device,
) -> Result<(CausalConvArm, f64)> {
    let batches = train.shuffled_batches(config.batch_size, rng);
    let mut loss_sum = 0.0;
    for (b, indices) in batches.iter().enumerate() {
        let x = train.rows(indices, device);
        let loss = model.loss(x);
        let loss_value = loss.clone().into_scalar::<f32>() as f64;
        ensure_finite(loss_value, epoch, b)?;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.learning_rate, model, grads);
        loss_sum += loss_value;
    }
    Ok((model, loss_sum / batches.len() as f64))
}
// ANCHOR_END: train_epoch

// ANCHOR: nll
/// The exact negative log-likelihood of a split: sum over its images of -log p(x), divided by N.
pub fn nll(model: &CausalConvArm, split: &Split, batch_size: usize, device: &Device) -> f64 {
    let mut total = MeanAccumulator::default();
    for indices in split.batches(batch_size) {
        let log_p = model.log_prob(split.rows(&indices, device));
        total.add(&to_host(log_p.neg()));
    }
    total.mean()
}
// ANCHOR_END: nll
