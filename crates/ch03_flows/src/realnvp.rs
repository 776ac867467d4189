//! RealNVP (Dinh et al., 2017): an invertible map from data x to latent z built from affine
//! coupling layers, trained by the change of variables
//!
//! log p(x) = log N(f(x); 0, I) + log |det df/dx|.

use burn::prelude::*;
use dgm_core::distributions::log_standard_normal;
use dgm_core::nn::{Activation, Mlp};

use crate::config::FlowConfig;
use crate::reversal;

// ANCHOR: coupling
/// One affine coupling layer. x is split into a conditioning half x_a and a transformed half x_b:
///
/// y_a = x_a,   y_b = (x_b - t(x_a)) * exp(-s(x_a))
///
/// The Jacobian is triangular with diagonal (1, ..., 1, exp(-s_1), ..., exp(-s_k)), so
/// log |det| = -sum_j s_j(x_a), and the inverse needs no inverse of s or t:
/// x_b = y_b * exp(s(y_a)) + t(y_a).
#[derive(Module, Debug)]
pub struct AffineCoupling {
    /// s: a tanh at the end keeps the log-scale in (-1, 1).
    scale: Mlp,
    /// t: unconstrained.
    translation: Mlp,
    /// Dimensions in x_a (the first `split`; x_b is the rest).
    split: usize,
}

impl AffineCoupling {
    pub fn new(config: &FlowConfig, device: &Device) -> AffineCoupling {
        let split = config.dim / 2;
        let mut widths = vec![split];
        widths.extend(std::iter::repeat_n(config.hidden, config.hidden_layers));
        widths.push(config.dim - split);
        AffineCoupling {
            scale: Mlp::new(
                &widths,
                config.activation,
                Activation::Tanh,
                config.init,
                device,
            ),
            translation: Mlp::new(
                &widths,
                config.activation,
                Activation::Identity,
                config.init,
                device,
            ),
            split,
        }
    }

    /// Data to latent direction: y and log |det dy/dx|.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: ([batch, D], [batch])
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
        let [batch, dim] = x.dims();
        let x_a = x.clone().slice([0..batch, 0..self.split]);
        let x_b = x.slice([0..batch, self.split..dim]);
        let s = self.scale.forward(x_a.clone());
        let t = self.translation.forward(x_a.clone());
        // y_b = (x_b - t) * exp(-s)
        let y_b = (x_b - t) * s.clone().neg().exp();
        // log |det| = -sum_j s_j; [batch, D - split] -> [batch, 1] -> [batch]
        let log_det = s.sum_dim(1).neg().reshape([batch]);
        (Tensor::cat(vec![x_a, y_b], 1), log_det)
    }

    /// Latent to data direction: x from y.
    ///
    /// # Shapes
    /// - y: [batch, D]
    /// - returns: [batch, D]
    pub fn inverse(&self, y: Tensor<2>) -> Tensor<2> {
        let [batch, dim] = y.dims();
        let y_a = y.clone().slice([0..batch, 0..self.split]);
        let y_b = y.slice([0..batch, self.split..dim]);
        let s = self.scale.forward(y_a.clone());
        let t = self.translation.forward(y_a.clone());
        // x_b = y_b * exp(s) + t
        let x_b = y_b * s.exp() + t;
        Tensor::cat(vec![y_a, x_b], 1)
    }
}
// ANCHOR_END: coupling

// ANCHOR: flow
/// Coupling layers with the order of the dimensions reversed after each, so that every
/// dimension is transformed by every second layer. Prior: N(0, I).
#[derive(Module, Debug)]
pub struct RealNvp {
    couplings: Vec<AffineCoupling>,
}

impl RealNvp {
    pub fn new(config: &FlowConfig, device: &Device) -> RealNvp {
        RealNvp {
            couplings: (0..config.couplings)
                .map(|_| AffineCoupling::new(config, device))
                .collect(),
        }
    }

    /// z = f(x) and log |det df/dx|, the sum of the layers' log-determinants (reversing the
    /// order of the dimensions is a permutation: |det| = 1).
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: ([batch, D], [batch])
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
        let [batch, _] = x.dims();
        let mut z = x;
        let mut log_det = Tensor::<1>::zeros([batch], &z.device());
        for coupling in &self.couplings {
            let (y, layer_log_det) = coupling.forward(z);
            z = y.flip([1]);
            log_det = log_det + layer_log_det;
        }
        (z, log_det)
    }

    /// x = f^-1(z): the layers undone in reverse order.
    ///
    /// # Shapes
    /// - z: [batch, D]
    /// - returns: [batch, D]
    pub fn inverse(&self, z: Tensor<2>) -> Tensor<2> {
        reversal::inverse(&self.couplings, z, AffineCoupling::inverse)
    }

    /// log p(x) = log N(f(x); 0, I) + log |det df/dx|
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    pub fn log_prob(&self, x: Tensor<2>) -> Tensor<1> {
        let (z, log_det) = self.forward(x);
        log_standard_normal(z) + log_det
    }

    /// The training loss: the batch mean of -log p(x).
    pub fn loss(&self, x: Tensor<2>) -> Tensor<1> {
        self.log_prob(x).neg().mean()
    }

    /// x = f^-1(z) with z ~ N(0, I).
    ///
    /// # Shapes
    /// - returns: [n, dim]
    pub fn sample(&self, n: usize, dim: usize, device: &Device) -> Tensor<2> {
        let z = Tensor::<2>::random(
            [n, dim],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            device,
        );
        self.inverse(z)
    }
}
// ANCHOR_END: flow
