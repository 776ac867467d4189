//! The autoregressive model: p(x) = prod_d p(x_d | x_<d), every conditional a 17-way categorical
//! computed for all d at once by a stack of causal convolutions.

use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, softmax};
use dgm_core::distributions::log_categorical;

use crate::causal_conv::CausalConv1d;
use crate::config::ArmConfig;

/// Slope of the LeakyReLU between layers (PyTorch's default).
const LEAKY_SLOPE: f64 = 0.01;

// ANCHOR: model
/// A stack of causal convolutions over a sequence, LeakyReLU between layers: the logits at every
/// position d of a distribution that depends on x_<d only. Chapter 11's entropy model is one
/// too.
///
/// # Shapes
/// - x: [batch, D]
/// - returns: [batch, D, K], K the last layer's output channels
pub fn causal_logits(layers: &[CausalConv1d], x: Tensor<2>) -> Tensor<3> {
    // [batch, D] -> [D, batch, 1]: position-major, one input channel.
    let mut h = x.transpose().unsqueeze_dim(2);
    let last = layers.len() - 1;
    for (i, layer) in layers.iter().enumerate() {
        h = layer.forward(h);
        if i < last {
            h = leaky_relu(h, LEAKY_SLOPE);
        }
    }
    // [D, batch, K] -> [batch, D, K]
    h.swap_dims(0, 1)
}

/// Four causal convolutions 1 -> M -> M -> M -> K. The first is type A, so the output at d never
/// sees x_d; the others are type B, so stacking them keeps that property.
#[derive(Module, Debug)]
pub struct CausalConvArm {
    layers: Vec<CausalConv1d>,
}

impl CausalConvArm {
    pub fn new(config: &ArmConfig, device: &Device) -> CausalConvArm {
        let (m, k) = (config.channels, config.kernel_size);
        let layers = vec![
            CausalConv1d::new(1, m, k, true, device),
            CausalConv1d::new(m, m, k, false, device),
            CausalConv1d::new(m, m, k, false, device),
            CausalConv1d::new(m, config.levels, k, false, device),
        ];
        CausalConvArm { layers }
    }

    /// The logits of p(x_d | x_<d) for every position d.
    ///
    /// The raw pixel values 0..16 are the network's input, as in the book.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch, D, K]
    pub fn logits(&self, x: Tensor<2>) -> Tensor<3> {
        causal_logits(&self.layers, x)
    }

    /// log p(x) = sum_d log p(x_d | x_<d), exact.
    ///
    /// # Shapes
    /// - x: [batch, D], integer values stored as floats
    /// - returns: [batch]
    pub fn log_prob(&self, x: Tensor<2>) -> Tensor<1> {
        let logits = self.logits(x.clone());
        log_categorical(x.int(), logits)
    }

    /// The training loss: the batch mean of -log p(x).
    pub fn loss(&self, x: Tensor<2>) -> Tensor<1> {
        self.log_prob(x).neg().mean()
    }
}
// ANCHOR_END: model

// ANCHOR: sample
impl CausalConvArm {
    /// Draws `n` images one pixel at a time: x_d ~ p(x_d | x_<d) for d = 0, 1, ..., D-1.
    ///
    /// Every step runs the whole network on the partly filled images (zeros after d) and keeps
    /// only the distribution at d; causality guarantees the zeros are never looked at.
    ///
    /// # Shapes
    /// - returns: [n, D], values 0..K-1 as floats
    pub fn sample(&self, n: usize, dim: usize, device: &Device) -> Tensor<2> {
        let mut x = Tensor::<2>::zeros([n, dim], device);
        for d in 0..dim {
            let logits = self.logits(x.clone());
            let [_, _, levels] = logits.dims();
            // [n, D, K] -> [n, 1, K] -> [n, K]
            let logits_d = logits
                .slice([0..n, d..d + 1, 0..levels])
                .reshape([n, levels]);
            // [n, K] -> [n, 1]
            let x_d = softmax(logits_d, 1).categorical(1).float();
            x = x.slice_assign([0..n, d..d + 1], x_d);
        }
        x
    }
}
// ANCHOR_END: sample
