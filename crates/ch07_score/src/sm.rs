//! Denoising score matching (Vincent, 2011) with Langevin sampling. A network learns the score
//! of the data blurred by Gaussian noise, grad_x log q_sigma(x), without ever seeing a density:
//! for x~ = x + sigma eps the score of q(x~ | x) is -eps / sigma, and regressing onto it is
//! equivalent to regressing onto the blurred data's score. Langevin dynamics then walks uphill
//! on log q_sigma with a little noise, from uniform noise to digits.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::tanh;
use dgm_core::nn::Activation;

use crate::config::SmConfig;
use crate::nets::ClippedMlp;

/// The score network's output is clipped to [-4, 4] (the book's Hardtanh).
const MAX_SCORE: f64 = 4.0;

// ANCHOR: net
/// s(x) ~ sigma grad_x log q_sigma(x): the MLP D -> M -> M -> M -> D with SELU. The book scales
/// the score by sigma, so the network predicts -eps, a quantity of order one.
pub type ScoreNet = ClippedMlp;

/// The book's score network for `config`.
pub fn score_net(config: &SmConfig, device: &Device) -> ScoreNet {
    ClippedMlp::new(
        config.dim,
        config.hidden,
        Activation::Selu,
        MAX_SCORE,
        device,
    )
}
// ANCHOR_END: net

// ANCHOR: loss
/// The denoising score-matching loss at given noise eps, the book's form: with
/// x~ = x + sigma eps,
///
/// loss = mean over the batch of 1/(2 sigma) sum_d (s(x~)_d + eps_d)^2.
///
/// # Shapes
/// - x, eps: [batch, D] (x on the [-1, 1] scale)
/// - returns: [batch]
pub fn dsm_loss_at(
    score: impl Fn(Tensor<2>) -> Tensor<2>,
    x: Tensor<2>,
    eps: Tensor<2>,
    sigma: f64,
) -> Tensor<1> {
    let [batch, _] = x.dims();
    let noisy = x + eps.clone() * sigma;
    // [batch, D] -> [batch, 1] -> [batch]
    ((score(noisy) + eps).powi_scalar(2).sum_dim(1) / (2.0 * sigma)).reshape([batch])
}

/// The training loss: the batch mean of dsm_loss_at with fresh eps ~ N(0, I).
pub fn dsm_loss(score: &ScoreNet, x: Tensor<2>, sigma: f64) -> Tensor<1> {
    let eps = Tensor::random(x.dims(), Distribution::Normal(0.0, 1.0), &x.device());
    dsm_loss_at(|x| score.forward(x), x, eps, sigma).mean()
}
// ANCHOR_END: loss

// ANCHOR: langevin
/// One Langevin step: x <- x + alpha s(x) + eta z, z ~ N(0, I).
///
/// # Shapes
/// - x: [batch, D]
pub fn langevin_step(
    score: impl Fn(Tensor<2>) -> Tensor<2>,
    x: Tensor<2>,
    alpha: f64,
    eta: f64,
) -> Tensor<2> {
    let z = Tensor::random(x.dims(), Distribution::Normal(0.0, 1.0), &x.device());
    x.clone() + score(x) * alpha + z * eta
}

/// x_0 ~ U[-1, 1]^D, then `config.langevin_steps` Langevin steps. Returns every state, noise
/// first; the book ends with a tanh, which keeps samples in [-1, 1].
///
/// # Shapes
/// - returns: langevin_steps + 1 tensors [n, D]
pub fn langevin_chain(
    score: &ScoreNet,
    n: usize,
    config: &SmConfig,
    device: &Device,
) -> Vec<Tensor<2>> {
    let mut x = Tensor::random([n, config.dim], Distribution::Uniform(-1.0, 1.0), device);
    let mut states = vec![x.clone()];
    for _ in 0..config.langevin_steps {
        x = langevin_step(|x| score.forward(x), x, config.step, config.noise);
        states.push(x.clone());
    }
    let last = states.pop().expect("the chain has an end");
    states.push(tanh(last));
    states
}
// ANCHOR_END: langevin
