//! The two-level top-down hierarchical VAE: a generative model z_2 -> z_1 -> x and an inference
//! model that shares the top-down path,
//!
//! p(x, z_1, z_2) = p(x | z_1) p(z_1 | z_2) p(z_2),
//! q(z_1, z_2 | x) = q(z_2 | x) q(z_1 | z_2, x),
//!
//! where q(z_1 | z_2, x) is p(z_1 | z_2) corrected by offsets computed from x.

use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::distributions::{
    categorical_mean, kl_normal_diag, log_categorical, log_normal_diag, log_standard_normal,
    sample_categorical,
};
use dgm_core::fused::linear_layer;
use dgm_core::metrics::importance_weighted_log_likelihood;
use dgm_core::nn::Activation;

use crate::config::HvaeConfig;

/// The log-variance offsets of q are clipped to this range (the book's hardtanh).
const LOG_VAR_OFFSET: (f64, f64) = (-7.0, 2.0);

// ANCHOR: net
/// Linear layers; after every one but the last, the sigmoid GELU and a BatchNorm; after the
/// last, `output`. The book's networks are all of this shape.
#[derive(Module, Debug)]
pub struct Net {
    layers: Vec<Linear>,
    norms: Vec<BatchNorm>,
    #[module(skip)]
    output: Activation,
}

impl Net {
    pub fn new(widths: &[usize], output: Activation, device: &Device) -> Net {
        let layers = widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        let norms = widths[1..widths.len() - 1]
            .iter()
            .map(|&w| BatchNormConfig::new(w).init(device))
            .collect();
        Net {
            layers,
            norms,
            output,
        }
    }

    /// Numbers of the BatchNorm running means and variances: state, not trained parameters,
    /// though burn's `num_params` counts them.
    pub fn running_statistics(&self) -> usize {
        self.norms.iter().map(|norm| 2 * norm.gamma.dims()[0]).sum()
    }

    /// # Shapes
    /// - x: [batch, widths[0]]
    /// - returns: [batch, widths[last]]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for (layer, norm) in self.layers.iter().zip(&self.norms) {
            h = norm.forward(Activation::SigmoidGelu.apply(linear_layer(layer, h)));
        }
        let last = self.layers.last().expect("a net has a layer");
        self.output.apply(linear_layer(last, h))
    }
}
// ANCHOR_END: net

/// Splits a [batch, 2n] output into means and log-variances, [batch, n] each.
fn halves(h: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let [batch, two_n] = h.dims();
    let n = two_n / 2;
    (
        h.clone().slice([0..batch, 0..n]),
        h.slice([0..batch, n..two_n]),
    )
}

/// z = mu + exp(log_var / 2) eps, eps ~ N(0, I).
fn reparameterise(mu: Tensor<2>, log_var: Tensor<2>) -> Tensor<2> {
    let eps = Tensor::random(mu.dims(), Distribution::Normal(0.0, 1.0), &mu.device());
    mu + (log_var * 0.5).exp() * eps
}

// ANCHOR: model
/// The book's networks (M = 256): a bottom-up path r_1 = r1(x), r_2 = r2(r_1); offsets
/// delta_1(r_1) and delta_2(r_2); the top-down prior network z_2 -> (mu_1, log var_1); the
/// decoder z_1 -> logits of p(x | z_1).
#[derive(Module, Debug)]
pub struct Hvae {
    r1: Net,
    r2: Net,
    delta1: Net,
    delta2: Net,
    z1_net: Net,
    x_net: Net,
    /// K: values a pixel can take.
    levels: usize,
    /// L: dimensions of z_2.
    latent: usize,
}

/// One pass of inference: the sampled latents and every distribution's parameters.
pub struct Inference {
    pub z1: Tensor<2>,
    pub z2: Tensor<2>,
    /// q(z_2 | x) = N(delta mu_2, exp(delta log var_2)).
    pub mu2: Tensor<2>,
    pub log_var2: Tensor<2>,
    /// p(z_1 | z_2) = N(mu_1, exp(log var_1)).
    pub prior_mu1: Tensor<2>,
    pub prior_log_var1: Tensor<2>,
    /// The offsets of q(z_1 | z_2, x) = N(mu_1 + delta mu_1, exp(log var_1 + delta log var_1)).
    pub delta_mu1: Tensor<2>,
    pub delta_log_var1: Tensor<2>,
}

impl Hvae {
    pub fn new(config: &HvaeConfig, device: &Device) -> Hvae {
        let (d, m, l, k) = (config.dim, config.hidden, config.latent, config.levels);
        let id = Activation::Identity;
        Hvae {
            r1: Net::new(&[d, m, m], Activation::Gelu, device),
            r2: Net::new(&[m, m, m], Activation::LeakyRelu, device),
            delta1: Net::new(&[m, m, 4 * l], id, device),
            delta2: Net::new(&[m, m, 2 * l], id, device),
            z1_net: Net::new(&[l, m, 4 * l], id, device),
            x_net: Net::new(&[2 * l, m, m, d * k], id, device),
            levels: k,
            latent: l,
        }
    }

    /// The trained parameters: burn's count without the BatchNorm running statistics.
    pub fn parameters(&self) -> usize {
        let nets = [
            &self.r1,
            &self.r2,
            &self.delta1,
            &self.delta2,
            &self.z1_net,
            &self.x_net,
        ];
        self.num_params()
            - nets
                .iter()
                .map(|net| net.running_statistics())
                .sum::<usize>()
    }

    /// Samples z_2 ~ q(z_2 | x), then z_1 ~ q(z_1 | z_2, x), keeping every parameter.
    ///
    /// # Shapes
    /// - x: [batch, D]
    pub fn infer(&self, x: Tensor<2>) -> Inference {
        let r1 = self.r1.forward(x);
        let r2 = self.r2.forward(r1.clone());
        let (delta_mu1, delta_log_var1) = halves(self.delta1.forward(r1));
        let (mu2, log_var2) = halves(self.delta2.forward(r2));
        let (low, high) = LOG_VAR_OFFSET;
        let (delta_log_var1, log_var2) =
            (delta_log_var1.clamp(low, high), log_var2.clamp(low, high));
        let z2 = reparameterise(mu2.clone(), log_var2.clone());
        let (prior_mu1, prior_log_var1) = halves(self.z1_net.forward(z2.clone()));
        let z1 = reparameterise(
            prior_mu1.clone() + delta_mu1.clone(),
            prior_log_var1.clone() + delta_log_var1.clone(),
        );
        Inference {
            z1,
            z2,
            mu2,
            log_var2,
            prior_mu1,
            prior_log_var1,
            delta_mu1,
            delta_log_var1,
        }
    }

    /// The logits of p(x_d | z_1) for every pixel.
    ///
    /// # Shapes
    /// - z1: [batch, 2L]
    /// - returns: [batch, D, K]
    pub fn decode(&self, z1: Tensor<2>) -> Tensor<3> {
        let h = self.x_net.forward(z1);
        let [batch, dk] = h.dims();
        // [batch, D K] -> [batch, D, K]
        h.reshape([batch, dk / self.levels, self.levels])
    }
}
// ANCHOR_END: model

// ANCHOR: elbo
impl Hvae {
    /// ELBO = log p(x | z_1) - KL(q(z_2 | x) || p(z_2)) - KL(q(z_1 | z_2, x) || p(z_1 | z_2)),
    /// with one sample of (z_1, z_2) for the reconstruction and both KLs in closed form. The
    /// second KL depends on the prior's variance only through delta:
    /// 1/2 sum [delta mu_1^2 / var_1 + exp(delta log var_1) - delta log var_1 - 1].
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    pub fn elbo(&self, x: Tensor<2>) -> Tensor<1> {
        let q = self.infer(x.clone());
        let reconstruction = log_categorical(x.int(), self.decode(q.z1));
        let zeros = q.mu2.zeros_like();
        let kl2 = kl_normal_diag(q.mu2, q.log_var2, zeros.clone(), zeros);
        let kl1 = kl_normal_diag(
            q.prior_mu1.clone() + q.delta_mu1,
            q.prior_log_var1.clone() + q.delta_log_var1,
            q.prior_mu1,
            q.prior_log_var1,
        );
        reconstruction - kl2 - kl1
    }

    /// The training loss: the batch mean of -ELBO.
    pub fn loss(&self, x: Tensor<2>) -> Tensor<1> {
        self.elbo(x).neg().mean()
    }
}
// ANCHOR_END: elbo

// ANCHOR: iw
impl Hvae {
    /// The importance-weighted estimate of log p(x) with K samples of q(z_1, z_2 | x):
    ///
    /// log w = log p(x | z_1) + log p(z_1 | z_2) + log p(z_2) - log q(z_1 | z_2, x) - log q(z_2 | x).
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    pub fn iw_log_likelihood(&self, x: Tensor<2>, k: usize) -> Tensor<1> {
        let [batch, dim] = x.dims();
        // [batch, D] -> [batch, K, D] -> [batch K, D]
        let x = x
            .unsqueeze_dim::<3>(1)
            .repeat_dim(1, k)
            .reshape([batch * k, dim]);
        let q = self.infer(x.clone());
        let log_p = log_categorical(x.int(), self.decode(q.z1.clone()))
            + log_normal_diag(q.z1.clone(), q.prior_mu1.clone(), q.prior_log_var1.clone())
            + log_standard_normal(q.z2.clone());
        let log_q = log_normal_diag(
            q.z1,
            q.prior_mu1 + q.delta_mu1,
            q.prior_log_var1 + q.delta_log_var1,
        ) + log_normal_diag(q.z2, q.mu2, q.log_var2);
        // [batch K] -> [batch, K]
        importance_weighted_log_likelihood((log_p - log_q).reshape([batch, k]))
    }
}
// ANCHOR_END: iw

// ANCHOR: sample
impl Hvae {
    /// z_2 ~ N(0, I), z_1 ~ p(z_1 | z_2), then every pixel from its categorical.
    ///
    /// # Shapes
    /// - returns: [n, D], values 0..K-1 as floats
    pub fn sample(&self, n: usize, device: &Device) -> Tensor<2> {
        let z2 = Tensor::random([n, self.latent], Distribution::Normal(0.0, 1.0), device);
        let (mu1, log_var1) = halves(self.z1_net.forward(z2));
        let logits = self.decode(reparameterise(mu1, log_var1));
        sample_categorical(logits)
    }

    /// The mean of z_1 given x, following the means of q: z_2 = delta mu_2, then
    /// z_1 = mu_1(z_2) + delta mu_1.
    ///
    /// # Shapes
    /// - x: [n, D]
    /// - returns: [n, 2L]
    pub fn mean_code(&self, x: Tensor<2>) -> Tensor<2> {
        let r1 = self.r1.forward(x);
        let r2 = self.r2.forward(r1.clone());
        let (delta_mu1, _) = halves(self.delta1.forward(r1));
        let (mu2, _) = halves(self.delta2.forward(r2));
        let (mu1, _) = halves(self.z1_net.forward(mu2));
        mu1 + delta_mu1
    }

    /// E[x | z_1] = sum_k k p(x_d = k | z_1).
    ///
    /// # Shapes
    /// - z1: [n, 2L]
    /// - returns: [n, D]
    pub fn mean_image(&self, z1: Tensor<2>) -> Tensor<2> {
        categorical_mean(self.decode(z1))
    }
}
// ANCHOR_END: sample
