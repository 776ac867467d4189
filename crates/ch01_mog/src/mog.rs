//! A mixture of K Gaussians with diagonal covariances, the oldest generative model in the book:
//!
//! p(x) = sum_k pi_k N(x; mu_k, diag(sigma_k^2)),
//!
//! fitted by gradient descent on the negative log-likelihood rather than by EM, so that it is
//! trained like every later model.

use std::f64::consts::PI;

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::log_softmax;
use dgm_core::distributions::{log_sum_exp, sample_categorical};

use crate::config::MogConfig;

/// The means start around mid-grey, N(0.5, 0.25^2) per pixel, and every variance at e^-3.
const INIT_MEAN: f64 = 0.5;
const INIT_MEAN_STD: f64 = 0.25;
const INIT_LOG_VAR: f64 = -3.0;

// ANCHOR: model
/// The mixture's parameters.
#[derive(Module, Debug)]
pub struct Mog {
    /// mu: [K, D]
    means: Param<Tensor<2>>,
    /// log sigma^2: [K, D]
    log_vars: Param<Tensor<2>>,
    /// w: [K], with pi = softmax(w); absent when the weights are fixed at 1/K.
    weight_logits: Option<Param<Tensor<1>>>,
}

impl Mog {
    pub fn new(config: &MogConfig, device: &Device) -> Mog {
        let (k, d) = (config.components, config.dim);
        let means = Tensor::random(
            [k, d],
            Distribution::Normal(INIT_MEAN, INIT_MEAN_STD),
            device,
        );
        Mog {
            means: Param::from_tensor(means),
            log_vars: Param::from_tensor(Tensor::full([k, d], INIT_LOG_VAR, device)),
            weight_logits: config
                .learn_weights
                .then(|| Param::from_tensor(Tensor::zeros([k], device))),
        }
    }

    /// A mixture with the given means, log-variances and (optionally learnable) weight logits.
    ///
    /// # Shapes
    /// - means, log_vars: [K, D]; weight_logits: [K]
    pub fn from_parameters(
        means: Tensor<2>,
        log_vars: Tensor<2>,
        weight_logits: Option<Tensor<1>>,
    ) -> Mog {
        Mog {
            means: Param::from_tensor(means),
            log_vars: Param::from_tensor(log_vars),
            weight_logits: weight_logits.map(Param::from_tensor),
        }
    }

    /// log pi_k of every component.
    ///
    /// # Shapes
    /// - returns: [K]
    pub fn log_weights(&self) -> Tensor<1> {
        match &self.weight_logits {
            Some(w) => log_softmax(w.val(), 0),
            None => {
                let [k, _] = self.means.dims();
                Tensor::full([k], -(k as f64).ln(), &self.means.device())
            }
        }
    }

    /// The means, one row per component.
    ///
    /// # Shapes
    /// - returns: [K, D]
    pub fn means(&self) -> Tensor<2> {
        self.means.val()
    }

    /// log p(x) = logsumexp_k [log pi_k + sum_d log N(x_d; mu_kd, sigma_kd^2)].
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    pub fn log_prob(&self, x: Tensor<2>) -> Tensor<1> {
        let [_, d] = x.dims();
        let mu = self.means.val();
        let log_var = self.log_vars.val();
        let precision = log_var.clone().neg().exp();
        // sum_d (x_d - mu_kd)^2 / sigma_kd^2
        //   = sum_d x_d^2 / sigma_kd^2 - 2 sum_d x_d mu_kd / sigma_kd^2 + sum_d mu_kd^2 / sigma_kd^2:
        // two matrix products [batch, D] x [D, K] instead of a [batch, K, D] tensor.
        let squares = x
            .clone()
            .powi_scalar(2)
            .matmul(precision.clone().transpose())
            - x.matmul((mu.clone() * precision.clone()).transpose()) * 2.0
            + (mu.powi_scalar(2) * precision).sum_dim(1).transpose();
        // sum_d log N(x_d; mu_kd, sigma_kd^2)
        //   = -1/2 [D ln(2 pi) + sum_d log sigma_kd^2 + sum_d (x_d - mu_kd)^2 / sigma_kd^2]
        // [K, D] -> [K, 1] -> [1, K]
        let log_det = log_var.sum_dim(1).transpose();
        let log_components = (squares + log_det + d as f64 * (2.0 * PI).ln()) * -0.5;
        // [K] -> [1, K]
        let log_joint = log_components + self.log_weights().unsqueeze_dim::<2>(0);
        // [batch, K] -> [batch, 1] -> [batch]
        let [batch, _] = log_joint.dims();
        log_sum_exp(log_joint, 1).reshape([batch])
    }

    /// n draws: a component k ~ Cat(pi), then x = mu_k + sigma_k eps.
    ///
    /// # Shapes
    /// - returns: [n, D]
    pub fn sample(&self, n: usize) -> Tensor<2> {
        let [k, d] = self.means.dims();
        let device = self.means.device();
        // [K] -> [1, 1, K] -> [n, 1, K]: one categorical draw per image.
        let logits = self.log_weights().reshape([1, 1, k]).repeat_dim(0, n);
        // [n, 1] -> [n]
        let picked = sample_categorical(logits).int().reshape([n]);
        let mu = self.means.val().select(0, picked.clone());
        let std = (self.log_vars.val() * 0.5).exp().select(0, picked);
        mu + std * Tensor::random([n, d], Distribution::Normal(0.0, 1.0), &device)
    }
}
// ANCHOR_END: model
