//! Integer discrete flows (Hoogeboom et al., 2019): a bijection of the integers onto the integers,
//! so the likelihood of discrete data is exact and needs no Jacobian:
//!
//! P(x) = P_Z(f(x)) for z = f(x) integer.

use burn::module::Param;
use burn::prelude::*;
use dgm_core::distributions::{log_discretized_logistic, sample_discretized_logistic};
use dgm_core::nn::{Activation, Init, Mlp};

use crate::config::IdfConfig;
use crate::reversal;

// ANCHOR: round_ste
/// round(x) in the forward pass; in the backward pass the gradient of the identity
/// (the straight-through estimator), since round has zero gradient almost everywhere.
pub fn round_straight_through(x: Tensor<2>) -> Tensor<2> {
    x.clone() + (x.clone().round() - x).detach()
}
// ANCHOR_END: round_ste

// ANCHOR: coupling
/// The integer coupling with B blocks (the book uses B = 4): x = (x_1, ..., x_B), and block i is
/// moved by a rounded translation computed from all the others, in turn:
///
/// y_1 = x_1 + round(t_1(x_2, x_3, x_4))
/// y_2 = x_2 + round(t_2(y_1, x_3, x_4))
/// y_3 = x_3 + round(t_3(y_1, y_2, x_4))
/// y_4 = x_4 + round(t_4(y_1, y_2, y_3))
///
/// Integers plus rounded numbers are integers, and the inverse subtracts the same translations
/// in the reverse order.
#[derive(Module, Debug)]
pub struct IntegerCoupling {
    /// t_1 .. t_B: MLPs (D - D/B) -> hidden -> hidden -> D/B.
    translations: Vec<Mlp>,
}

impl IntegerCoupling {
    pub fn new(config: &IdfConfig, device: &Device) -> IntegerCoupling {
        let block = config.dim / config.blocks;
        let widths = [config.dim - block, config.hidden, config.hidden, block];
        IntegerCoupling {
            translations: (0..config.blocks)
                .map(|_| {
                    let (hidden, output) = (Activation::LeakyRelu, Activation::Identity);
                    let t = Mlp::new(&widths, hidden, output, Init::PyTorch, device);
                    if config.data_init { t.zero_output() } else { t }
                })
                .collect(),
        }
    }

    /// Adds (`sign` = 1, data to latent) or subtracts (`sign` = -1, latent to data) the rounded
    /// translation of block i, for i in the given order.
    fn shift_blocks(&self, x: Tensor<2>, order: &[usize], sign: f64) -> Tensor<2> {
        let blocks = self.translations.len();
        let mut parts = x.chunk(blocks, 1);
        for &i in order {
            // The other blocks as they are now: [batch, D - D/B].
            let others: Vec<Tensor<2>> = (0..blocks)
                .filter(|&j| j != i)
                .map(|j| parts[j].clone())
                .collect();
            let shift =
                round_straight_through(self.translations[i].forward(Tensor::cat(others, 1)));
            parts[i] = parts[i].clone() + shift * sign;
        }
        Tensor::cat(parts, 1)
    }

    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch, D]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let order: Vec<usize> = (0..self.translations.len()).collect();
        self.shift_blocks(x, &order, 1.0)
    }

    /// # Shapes
    /// - y: [batch, D]
    /// - returns: [batch, D]
    pub fn inverse(&self, y: Tensor<2>) -> Tensor<2> {
        let order: Vec<usize> = (0..self.translations.len()).rev().collect();
        self.shift_blocks(y, &order, -1.0)
    }
}
// ANCHOR_END: coupling

// ANCHOR: flow
/// Integer couplings with the dimensions reversed after each, and a factorised discretised
/// logistic prior with a learnable mean and log-scale per dimension.
#[derive(Module, Debug)]
pub struct Idf {
    couplings: Vec<IntegerCoupling>,
    /// mu of the prior: [1, D], starts at 0.
    mean: Param<Tensor<2>>,
    /// log s of the prior: [1, D], starts at 1.
    log_scale: Param<Tensor<2>>,
}

impl Idf {
    pub fn new(config: &IdfConfig, device: &Device) -> Idf {
        assert!(
            config.dim.is_multiple_of(config.blocks),
            "D = {} is not a multiple of {} blocks",
            config.dim,
            config.blocks
        );
        Idf {
            couplings: (0..config.flows)
                .map(|_| IntegerCoupling::new(config, device))
                .collect(),
            mean: Param::from_tensor(Tensor::zeros([1, config.dim], device)),
            log_scale: Param::from_tensor(Tensor::ones([1, config.dim], device)),
        }
    }

    /// The same flow with the prior moved onto the data (for [`IdfConfig::data_init`]): per
    /// dimension the mean of `x`, and the scale whose logistic has the standard deviation of `x`
    /// (a logistic of scale s has standard deviation s pi / sqrt(3)).
    ///
    /// # Shapes
    /// - x: [N, D], the training images
    pub fn with_prior_fitted_to(mut self, x: Tensor<2>) -> Idf {
        let mean = x.clone().mean_dim(0);
        // A pixel that never changes (the corners) gets a scale of 0.1 rather than 0.
        let sd = x.var(0).sqrt().clamp_min(0.1);
        let log_scale = (sd * (3f64.sqrt() / std::f64::consts::PI)).log();
        self.mean = Param::from_tensor(mean);
        self.log_scale = Param::from_tensor(log_scale);
        self
    }

    /// z = f(x), integers to integers.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch, D]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        reversal::forward(&self.couplings, x, IntegerCoupling::forward)
    }

    /// x = f^-1(z), exactly.
    ///
    /// # Shapes
    /// - z: [batch, D]
    /// - returns: [batch, D]
    pub fn inverse(&self, z: Tensor<2>) -> Tensor<2> {
        reversal::inverse(&self.couplings, z, IntegerCoupling::inverse)
    }

    /// log P(x) = log P_Z(f(x)), exact for integer x.
    ///
    /// # Shapes
    /// - x: [batch, D], integer values stored as floats
    /// - returns: [batch]
    pub fn log_prob(&self, x: Tensor<2>) -> Tensor<1> {
        log_discretized_logistic(self.forward(x), self.mean.val(), self.log_scale.val())
    }

    /// The training loss: the batch mean of -log P(x).
    pub fn loss(&self, x: Tensor<2>) -> Tensor<1> {
        self.log_prob(x).neg().mean()
    }

    /// z from the prior by the inverse CDF of the logistic, mu + s log(u / (1 - u)), rounded to
    /// the nearest integer; then x = f^-1(z).
    ///
    /// # Shapes
    /// - returns: [n, D], integers stored as floats (not clamped to the data's range)
    pub fn sample(&self, n: usize) -> Tensor<2> {
        let z = sample_discretized_logistic(self.mean.val(), self.log_scale.val(), n);
        self.inverse(z)
    }
}
// ANCHOR_END: flow
