//! A diffusion-based deep generative model (Sohl-Dickstein et al., 2015; Ho et al., 2020) in the
//! book's small form: a fixed forward process that adds Gaussian noise in T steps,
//!
//! q(z_t | z_{t-1}) = N(sqrt(1 - beta) z_{t-1}, beta I), z_0 = x,
//!
//! and a learned reverse process p(z_T) = N(0, I), p(z_{t-1} | z_t) = N(mu_t(z_t), diag
//! sigma_t^2(z_t)), p(x | z_1) = N(tanh(decoder(z_1)), I), trained by the ELBO.

use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::distributions::{log_normal_diag, log_standard_normal};
use dgm_core::nn::{Activation, Init, Mlp};

use crate::config::DdgmConfig;

// ANCHOR: forward
/// alpha-bar_t = (1 - beta)^t: q(z_t | x) = N(sqrt(alpha-bar_t) x, (1 - alpha-bar_t) I), the
/// forward process t steps at once.
pub fn alpha_bar(beta: f64, t: usize) -> f64 {
    (1.0 - beta).powi(t as i32)
}

/// One forward step: z_t = sqrt(1 - beta) z_{t-1} + sqrt(beta) eps, eps ~ N(0, I).
pub fn diffuse(z: Tensor<2>, beta: f64) -> Tensor<2> {
    let eps = Tensor::random(z.dims(), Distribution::Normal(0.0, 1.0), &z.device());
    z * (1.0 - beta).sqrt() + eps * beta.sqrt()
}

/// log q(z_t | z_{t-1}) summed over dimensions.
///
/// # Shapes
/// - z, previous: [batch, D]
/// - returns: [batch]
pub fn log_forward(z: Tensor<2>, previous: Tensor<2>, beta: f64) -> Tensor<1> {
    let mean = previous * (1.0 - beta).sqrt();
    let log_var = mean.zeros_like() + beta.ln();
    log_normal_diag(z, mean, log_var)
}
// ANCHOR_END: forward

// ANCHOR: model
/// T - 1 reverse networks D -> M -> M -> M -> 2D (mean and log-variance of z_{t-1} given z_t)
/// and a decoder D -> 2M -> 2M -> 2M -> D with a tanh for the mean of x given z_1.
#[derive(Module, Debug)]
pub struct Ddgm {
    /// reverse[t - 2] gives p(z_{t-1} | z_t), t = 2..T.
    reverse: Vec<Mlp>,
    decoder: Mlp,
    beta: f64,
}

impl Ddgm {
    pub fn new(config: &DdgmConfig, device: &Device) -> Ddgm {
        let (d, m) = (config.dim, config.hidden);
        let (leaky, id) = (Activation::LeakyRelu, Activation::Identity);
        let reverse = (1..config.steps)
            .map(|_| Mlp::new(&[d, m, m, m, 2 * d], leaky, id, Init::PyTorch, device))
            .collect();
        let decoder = Mlp::new(
            &[d, 2 * m, 2 * m, 2 * m, d],
            leaky,
            Activation::Tanh,
            Init::PyTorch,
            device,
        );
        Ddgm {
            reverse,
            decoder,
            beta: config.beta,
        }
    }

    /// T, the number of diffusion steps.
    pub fn steps(&self) -> usize {
        self.reverse.len() + 1
    }

    /// The mean and log-variance of p(z_{t-1} | z_t), for t = 2..T.
    ///
    /// # Shapes
    /// - z_t: [batch, D]
    /// - returns: ([batch, D], [batch, D])
    pub fn reverse_step(&self, t: usize, z_t: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = self.reverse[t - 2].forward(z_t);
        let [batch, two_d] = h.dims();
        let d = two_d / 2;
        (
            h.clone().slice([0..batch, 0..d]),
            h.slice([0..batch, d..two_d]),
        )
    }

    /// The mean of p(x | z_1).
    ///
    /// # Shapes
    /// - z1: [batch, D]
    /// - returns: [batch, D], in (-1, 1)
    pub fn decode(&self, z1: Tensor<2>) -> Tensor<2> {
        self.decoder.forward(z1)
    }
}
// ANCHOR_END: model

// ANCHOR: elbo
impl Ddgm {
    /// The ELBO with one sample of the forward process z_1, ..., z_T ~ q(. | x):
    ///
    /// ELBO = log p(x | z_1)
    ///      - sum_{t=1}^{T-1} [log q(z_t | z_{t-1}) - log p(z_t | z_{t+1})]
    ///      - [log q(z_T | z_{T-1}) - log N(z_T; 0, I)],
    ///
    /// each bracket pairing the forward step into z_t with the reverse step out of z_{t+1}. Only
    /// the last bracket estimates a KL divergence (z_T against the prior): for t < T, z_{t+1} is
    /// drawn after z_t and depends on it, so a bracket is not a KL and can be negative. The sum
    /// is still the ELBO, log p(x, z) - log q(z | x) at the drawn chain.
    ///
    /// # Shapes
    /// - x: [batch, D], on the [-1, 1] scale
    /// - returns: [batch]
    pub fn elbo(&self, x: Tensor<2>) -> Tensor<1> {
        let t_max = self.steps();
        // zs[t] = z_t for t = 0..T, z_0 = x.
        let mut zs = vec![x.clone()];
        for _ in 0..t_max {
            let next = diffuse(zs.last().expect("z_0 is there").clone(), self.beta);
            zs.push(next);
        }
        // log p(x | z_1) = log N(x; tanh(decoder(z_1)), I)
        let mean_x = self.decode(zs[1].clone());
        let reconstruction = log_normal_diag(x, mean_x.clone(), mean_x.zeros_like());
        let mut kl = log_forward(zs[t_max].clone(), zs[t_max - 1].clone(), self.beta)
            - log_standard_normal(zs[t_max].clone());
        for t in 1..t_max {
            let (mu, log_var) = self.reverse_step(t + 1, zs[t + 1].clone());
            kl = kl + log_forward(zs[t].clone(), zs[t - 1].clone(), self.beta)
                - log_normal_diag(zs[t].clone(), mu, log_var);
        }
        reconstruction - kl
    }

    /// The training loss: the batch mean of -ELBO.
    pub fn loss(&self, x: Tensor<2>) -> Tensor<1> {
        self.elbo(x).neg().mean()
    }
}
// ANCHOR_END: elbo

// ANCHOR: sample
impl Ddgm {
    /// The reverse process from z_T ~ N(0, I): z_{t-1} ~ p(z_{t-1} | z_t) down to z_1, then the
    /// decoder's mean of x. Returns every state, z_T first and x last.
    ///
    /// # Shapes
    /// - returns: T + 1 tensors [n, D]
    pub fn reverse_process(&self, n: usize, dim: usize, device: &Device) -> Vec<Tensor<2>> {
        let mut z = Tensor::random([n, dim], Distribution::Normal(0.0, 1.0), device);
        let mut states = vec![z.clone()];
        for t in (2..=self.steps()).rev() {
            let (mu, log_var) = self.reverse_step(t, z);
            let eps = Tensor::random(mu.dims(), Distribution::Normal(0.0, 1.0), device);
            z = mu + (log_var * 0.5).exp() * eps;
            states.push(z.clone());
        }
        states.push(self.decode(z));
        states
    }
}
// ANCHOR_END: sample
