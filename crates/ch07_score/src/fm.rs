//! Flow matching (Lipman et al., 2023): a vector field v(x, t) whose ODE dx/dt = v carries
//! N(0, I) at t = 0 to the data at t = 1, learned by regressing v onto the known velocity of a
//! simple path from a noise sample to a data point. Being an ODE, the map is invertible, and the
//! likelihood follows from the instantaneous change of variables,
//!
//! log p_1(x_1) = log N(x_0; 0, I) - integral_0^1 div v(x_t, t) dt.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::tanh;
use dgm_core::distributions::log_standard_normal;
use dgm_core::nn::Activation;

use crate::config::FmConfig;
use crate::nets::TimeConditioned;
use crate::ode::{euler_path, linspace, ode_log_likelihood};

/// The vector field's output is clipped to [-3, 3] (the book's Hardtanh).
const MAX_VELOCITY: f64 = 3.0;

// ANCHOR: field
/// v(x, t): the MLP D -> M -> M -> M -> D with SELU, applied to x + tanh(W t + b).
pub type VectorField = TimeConditioned;

/// The book's vector field for `config`.
pub fn vector_field(config: &FmConfig, device: &Device) -> VectorField {
    TimeConditioned::new(
        config.dim,
        config.hidden,
        Activation::Selu,
        MAX_VELOCITY,
        device,
    )
}
// ANCHOR_END: field

// ANCHOR: path
/// The point at time t of the path from noise eps (t = 0) to x_1 (t = 1, up to sigma):
/// x_t = t x_1 + (1 - (1 - sigma) t) eps.
pub fn path_point(x1: Tensor<2>, eps: Tensor<2>, t: Tensor<2>, sigma: f64) -> Tensor<2> {
    x1 * t.clone() + eps * (t * (sigma - 1.0) + 1.0)
}

/// The path's velocity at x_t, written without eps:
/// u_t = (x_1 - (1 - sigma) x_t) / (1 - (1 - sigma) t).
pub fn path_velocity(x1: Tensor<2>, x_t: Tensor<2>, t: Tensor<2>, sigma: f64) -> Tensor<2> {
    (x1 - x_t * (1.0 - sigma)) / (t * (sigma - 1.0) + 1.0)
}
// ANCHOR_END: path

// ANCHOR: loss
/// The conditional flow-matching loss at given times t and noise eps: the mean over the batch
/// and the dimensions of (v(x_t, t) - u_t)^2, on the path from eps to x_1.
///
/// # Shapes
/// - x1, eps: [batch, D] (x1 on the [-1, 1] scale); t: [batch, 1]
pub fn fm_loss_at(
    field: &VectorField,
    x1: Tensor<2>,
    t: Tensor<2>,
    eps: Tensor<2>,
    sigma: f64,
) -> Tensor<1> {
    let x_t = path_point(x1.clone(), eps, t.clone(), sigma);
    let target = path_velocity(x1, x_t.clone(), t.clone(), sigma);
    (field.forward(x_t, t) - target).powi_scalar(2).mean()
}

/// The training loss: fm_loss_at with t ~ U(0, 1) and eps ~ N(0, I) drawn for every image.
pub fn fm_loss(field: &VectorField, x1: Tensor<2>, sigma: f64) -> Tensor<1> {
    let [batch, _] = x1.dims();
    let device = x1.device();
    let t = Tensor::<2>::random([batch, 1], Distribution::Uniform(0.0, 1.0), &device);
    let eps = Tensor::random(x1.dims(), Distribution::Normal(0.0, 1.0), &device);
    fm_loss_at(field, x1, t, eps, sigma)
}
// ANCHOR_END: loss

// ANCHOR: sample
/// x_0 ~ N(0, I), then Euler steps x <- x + v(x, t) dt over `points` time points from 0 to 1.
/// Returns every state, noise first; the book ends with a tanh, which keeps samples in [-1, 1].
///
/// # Shapes
/// - returns: `points` tensors [n, D]
pub fn sample_path(
    field: &VectorField,
    n: usize,
    dim: usize,
    points: usize,
    device: &Device,
) -> Vec<Tensor<2>> {
    let x0 = Tensor::random([n, dim], Distribution::Normal(0.0, 1.0), device);
    let mut states = euler_path(field, x0, &linspace(0.0, 1.0, points));
    let last = states.pop().expect("the path has an end");
    states.push(tanh(last));
    states
}
// ANCHOR_END: sample

// ANCHOR: likelihood
/// log p_1(x_1) by integrating the ODE backwards from the data (t = 1) to noise (t = 0):
///
/// log p_1(x_1) = log N(x_0; 0, I) - integral_0^1 div v(x_t, t) dt.
///
/// # Shapes
/// - x1: [batch, D] on the [-1, 1] scale, on an autodiff device
/// - returns: [batch]
pub fn log_likelihood(field: &VectorField, x1: Tensor<2>, points: usize) -> Tensor<1> {
    let mut ts = linspace(0.0, 1.0, points);
    ts.reverse();
    ode_log_likelihood(field, x1, &ts, log_standard_normal)
}
// ANCHOR_END: likelihood
