//! A score-based generative model on a variance-exploding SDE (Song et al., 2021). The forward
//! process only adds noise, dx = g(t) dw with g(t) = sigma^t, so
//!
//! x_t | x_0 ~ N(x_0, sigma_t^2 I),  sigma_t^2 = integral_0^t g(s)^2 ds = (sigma^(2t) - 1) / (2 ln sigma).
//!
//! A network learns the score grad_x log p_t(x) at every t by denoising, and the
//! probability-flow ODE dx/dt = -1/2 g(t)^2 grad_x log p_t(x), which has the same marginals as
//! the SDE, carries noise at t = 1 back to the data at t = 0.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::tanh;
use dgm_core::distributions::log_normal_diag;
use dgm_core::nn::Activation;

use crate::config::SbgmConfig;
use crate::nets::TimeConditioned;
use crate::ode::{Field, euler_path, linspace, ode_log_likelihood};

/// The score network's output is clipped to [-3, 3] (the book's Hardtanh).
const MAX_SCORE: f64 = 3.0;

// ANCHOR: sde
/// The variance-exploding SDE dx = sigma^t dw.
#[derive(Clone, Copy, Debug)]
pub struct VeSde {
    pub sigma: f64,
}

impl VeSde {
    /// g(t)^2 = sigma^(2t), element-wise.
    pub fn diffusion_squared<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        (t * (2.0 * self.sigma.ln())).exp()
    }

    /// sigma_t = sqrt((sigma^(2t) - 1) / (2 ln sigma)), the standard deviation of x_t | x_0.
    pub fn marginal_std<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        ((self.diffusion_squared(t) - 1.0) / (2.0 * self.sigma.ln())).sqrt()
    }

    /// sigma_1^2 = (sigma^2 - 1) / (2 ln sigma): the variance of the base N(0, sigma_1^2 I) the
    /// sampler starts from.
    pub fn base_variance(&self) -> f64 {
        (self.sigma.powi(2) - 1.0) / (2.0 * self.sigma.ln())
    }
}
// ANCHOR_END: sde

// ANCHOR: net
/// s(x, t) ~ grad_x log p_t(x): the MLP D -> M -> M -> M -> D with SiLU, applied to
/// x + tanh(W t + b).
pub type ScoreNet = TimeConditioned;

/// The book's time-dependent score network for `config`.
pub fn score_net(config: &SbgmConfig, device: &Device) -> ScoreNet {
    TimeConditioned::new(
        config.dim,
        config.hidden,
        Activation::Silu,
        MAX_SCORE,
        device,
    )
}
// ANCHOR_END: net

// ANCHOR: loss
/// The weighted denoising loss at given times and noise: with x_t = x_0 + sigma_t eps the score
/// of x_t | x_0 is -eps / sigma_t, so -sigma_t s(x_t, t) predicts the noise, and with the weight
/// lambda(t) = sigma_t^2,
///
/// loss = 1/2 sigma_t^2 mean_d (sigma_t s(x_t, t)_d + eps_d)^2.
///
/// # Shapes
/// - x0, eps: [batch, D] (x0 on the [-1, 1] scale); t: [batch, 1]
/// - returns: [batch]
pub fn denoising_loss_at(
    score: &impl Field,
    sde: VeSde,
    x0: Tensor<2>,
    t: Tensor<2>,
    eps: Tensor<2>,
) -> Tensor<1> {
    let [batch, _] = x0.dims();
    let std = sde.marginal_std(t.clone());
    let x_t = x0 + eps.clone() * std.clone();
    let residual = (score.velocity(x_t, t) * std.clone() + eps).powi_scalar(2);
    // [batch, D] -> [batch, 1] -> [batch]
    (residual.mean_dim(1) * std.powi_scalar(2) * 0.5).reshape([batch])
}

/// The training loss: the batch mean of denoising_loss_at with t ~ U(t_min, 1) and
/// eps ~ N(0, I) drawn for every image.
pub fn denoising_loss(score: &ScoreNet, sde: VeSde, x0: Tensor<2>, t_min: f64) -> Tensor<1> {
    let [batch, _] = x0.dims();
    let device = x0.device();
    let t = Tensor::<2>::random([batch, 1], Distribution::Uniform(t_min, 1.0), &device);
    let eps = Tensor::random(x0.dims(), Distribution::Normal(0.0, 1.0), &device);
    denoising_loss_at(score, sde, x0, t, eps).mean()
}
// ANCHOR_END: loss

// ANCHOR: flow
/// The probability-flow ODE's velocity, f(x, t) = -1/2 g(t)^2 s(x, t), for a score s.
pub struct ProbabilityFlow<'a, S: Field> {
    pub score: &'a S,
    pub sde: VeSde,
}

impl<S: Field> Field for ProbabilityFlow<'_, S> {
    fn velocity(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        self.score.velocity(x, t.clone()) * self.sde.diffusion_squared(t) * -0.5
    }
}

/// x_1 ~ N(0, sigma_1^2 I), then Euler steps of the probability-flow ODE backwards over
/// `euler_points` time points from 1 to t_min. Returns every state, noise first; the book ends
/// with a tanh, which keeps samples in [-1, 1].
///
/// # Shapes
/// - returns: euler_points tensors [n, D]
pub fn sample_path(
    score: &impl Field,
    n: usize,
    config: &SbgmConfig,
    device: &Device,
) -> Vec<Tensor<2>> {
    let sde = VeSde {
        sigma: config.sigma,
    };
    let base = Distribution::Normal(0.0, sde.base_variance().sqrt());
    let x1 = Tensor::random([n, config.dim], base, device);
    let ts = linspace(1.0, config.t_min, config.euler_points);
    let mut states = euler_path(&ProbabilityFlow { score, sde }, x1, &ts);
    let last = states.pop().expect("the path has an end");
    states.push(tanh(last));
    states
}
// ANCHOR_END: flow

// ANCHOR: likelihood
/// log p_{t_min}(x) under the probability-flow ODE and the base N(0, sigma_1^2 I), by Euler
/// steps from t_min to 1 with the divergence accumulated at every step.
///
/// # Shapes
/// - x: [batch, D] on the [-1, 1] scale, on an autodiff device
/// - returns: [batch]
pub fn log_likelihood(score: &impl Field, x: Tensor<2>, config: &SbgmConfig) -> Tensor<1> {
    let sde = VeSde {
        sigma: config.sigma,
    };
    let ts = linspace(config.t_min, 1.0, config.euler_points);
    let log_var = sde.base_variance().ln();
    let log_base = |x1: Tensor<2>| {
        let mean = x1.zeros_like();
        let log_var = x1.ones_like() * log_var;
        log_normal_diag(x1, mean, log_var)
    };
    ode_log_likelihood(&ProbabilityFlow { score, sde }, x, &ts, log_base)
}
// ANCHOR_END: likelihood
