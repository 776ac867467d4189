//! Flow matching (Lipman et al., 2023): a vector field v(x, t) whose ODE dx/dt = v carries
//! N(0, I) at t = 0 to the data at t = 1, learned by regressing v onto the known velocity of a
//! simple path from a noise sample to a data point. Being an ODE, the map is invertible, and the
//! likelihood follows from the instantaneous change of variables,
//!
//! log p_1(x_1) = log N(x_0; 0, I) - integral_0^1 div v(x_t, t) dt.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::tanh;
use dgm_core::distributions::log_standard_normal;
use dgm_core::nn::{Activation, Init, Mlp};

use crate::config::FmConfig;

/// The vector field's output is clipped to [-3, 3] (the book's Hardtanh).
const MAX_VELOCITY: f64 = 3.0;

// ANCHOR: field
/// v(x, t): an MLP D -> M -> M -> M -> D with SELU, applied to x + tanh(W t + b) (the book adds
/// a learned embedding of t to the input).
#[derive(Module, Debug)]
pub struct VectorField {
    time: Linear,
    net: Mlp,
}

impl VectorField {
    pub fn new(config: &FmConfig, device: &Device) -> VectorField {
        let (d, m) = (config.dim, config.hidden);
        VectorField {
            time: LinearConfig::new(1, d).init(device),
            net: Mlp::new(
                &[d, m, m, m, d],
                Activation::Selu,
                Activation::Identity,
                Init::PyTorch,
                device,
            ),
        }
    }

    /// # Shapes
    /// - x: [batch, D]; t: [batch, 1]
    /// - returns: [batch, D]
    pub fn forward(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        let h = x + tanh(self.time.forward(t));
        self.net.forward(h).clamp(-MAX_VELOCITY, MAX_VELOCITY)
    }
}
// ANCHOR_END: field

/// A time-dependent vector field v(x, t), as the ODE solvers see it.
pub trait Field {
    /// # Shapes
    /// - x: [batch, D]; t: [batch, 1]
    /// - returns: [batch, D]
    fn velocity(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2>;
}

impl Field for VectorField {
    fn velocity(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        self.forward(x, t)
    }
}

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

/// The time points 0, 1/(n-1), ..., 1 of the Euler schemes.
fn time_points(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64 / (n - 1) as f64).collect()
}

/// A [batch, 1] tensor filled with t.
fn time_column(t: f64, batch: usize, device: &Device) -> Tensor<2> {
    Tensor::full([batch, 1], t, device)
}

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
    let ts = time_points(points);
    let mut x = Tensor::random([n, dim], Distribution::Normal(0.0, 1.0), device);
    let mut states = vec![x.clone()];
    for pair in ts.windows(2) {
        let dt = pair[1] - pair[0];
        x = x.clone() + field.forward(x, time_column(pair[0], n, device)) * dt;
        states.push(x.clone());
    }
    let last = states.pop().expect("the path has an end");
    states.push(tanh(last));
    states
}
// ANCHOR_END: sample

// ANCHOR: likelihood
/// The exact divergence div v(x, t) = sum_d dv_d / dx_d of every row, with one backward pass:
/// each image is repeated D times, copy d keeps only output d, and the gradient of their sum
/// with respect to copy d's input holds dv_d / dx_d in column d.
///
/// `field` and `x` must live on an autodiff device.
///
/// # Shapes
/// - x: [batch, D]
/// - returns: [batch]
pub fn divergence(field: &impl Field, x: Tensor<2>, t: f64) -> Tensor<1> {
    let [batch, dim] = x.dims();
    let device = x.device();
    // [batch, D] -> [D, batch, D] -> [D batch, D]: copy d of every image.
    let copies = x
        .detach()
        .unsqueeze_dim::<3>(0)
        .repeat_dim(0, dim)
        .reshape([dim * batch, dim])
        .require_grad();
    // The one-hot selector of output d for copy d: [D, 1, D] -> [D batch, D]
    let eye = Tensor::<2>::eye(dim, &device)
        .unsqueeze_dim::<3>(1)
        .repeat_dim(1, batch)
        .reshape([dim * batch, dim]);
    let v = field.velocity(copies.clone(), time_column(t, dim * batch, &device));
    let grads = (v * eye.clone()).sum().backward();
    let jacobian_rows = copies
        .grad(&grads)
        .expect("the copies require their gradient");
    // dv_d/dx_d of copy (d, b): [D batch, D] -> [D batch] -> [D, batch] -> sum over d -> [batch]
    let diagonal = jacobian_rows * eye.inner();
    diagonal
        .sum_dim(1)
        .reshape([dim, batch])
        .sum_dim(0)
        .reshape([batch])
}

/// log p_1(x_1) by integrating the ODE backwards from the data (t = 1) to noise (t = 0) with
/// Euler steps, accumulating the divergence at every step:
///
/// log p_1(x_1) = log N(x_0; 0, I) - sum_k div v(x_{t_k}, t_k) dt.
///
/// # Shapes
/// - x1: [batch, D] on the [-1, 1] scale, on an autodiff device
/// - returns: [batch]
pub fn ode_log_likelihood(field: &impl Field, x1: Tensor<2>, points: usize) -> Tensor<1> {
    let ts = time_points(points);
    let [batch, _] = x1.dims();
    let device = x1.device();
    let mut x = x1.detach();
    let mut integral = Tensor::<1>::zeros([batch], &device);
    for pair in ts.windows(2).rev() {
        let (t, dt) = (pair[1], pair[1] - pair[0]);
        integral = integral + divergence(field, x.clone(), t) * dt;
        let v = field
            .velocity(x.clone(), time_column(t, batch, &device))
            .detach();
        x = (x - v * dt).detach();
    }
    log_standard_normal(x) - integral
}
// ANCHOR_END: likelihood
