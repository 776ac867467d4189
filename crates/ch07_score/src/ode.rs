//! Ordinary differential equations dx/dt = f(x, t) on images: the Euler scheme that samples
//! flow matching and the probability-flow ODE of the SDE model, and the likelihood that follows
//! from the instantaneous change of variables,
//!
//! d log p_t(x_t) / dt = -div f(x_t, t).

use burn::prelude::*;

/// A time-dependent vector field f(x, t), as the ODE solvers see it.
pub trait Field {
    /// # Shapes
    /// - x: [batch, D]; t: [batch, 1]
    /// - returns: [batch, D]
    fn velocity(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2>;
}

/// A [batch, 1] tensor filled with t: one time for every row, as [`Field::velocity`] takes it.
pub fn time_column(t: f64, batch: usize, device: &Device) -> Tensor<2> {
    Tensor::full([batch, 1], t, device)
}

/// n equally spaced time points from `from` to `to`, both included.
pub fn linspace(from: f64, to: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| from + (to - from) * i as f64 / (n - 1) as f64)
        .collect()
}

// ANCHOR: euler
/// Euler steps x <- x + f(x, t_k) (t_{k+1} - t_k) over the time points `ts` (which may run
/// backwards). Returns every state, x first.
///
/// # Shapes
/// - x: [n, D]
/// - returns: ts.len() tensors [n, D]
pub fn euler_path(field: &impl Field, x: Tensor<2>, ts: &[f64]) -> Vec<Tensor<2>> {
    let [n, _] = x.dims();
    let device = x.device();
    let mut states = vec![x];
    for pair in ts.windows(2) {
        let x = states.last().expect("the path has a start").clone();
        let f = field.velocity(x.clone(), time_column(pair[0], n, &device));
        states.push(x + f * (pair[1] - pair[0]));
    }
    states
}
// ANCHOR_END: euler

// ANCHOR: likelihood
/// The exact divergence div f(x, t) = sum_d df_d / dx_d of every row, with one backward pass:
/// each image is repeated D times, copy d keeps only output d, and the gradient of their sum
/// with respect to copy d's input holds df_d / dx_d in column d.
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
    let f = field.velocity(copies.clone(), time_column(t, dim * batch, &device));
    let grads = (f * eye.clone()).sum().backward();
    let jacobian_rows = copies
        .grad(&grads)
        .expect("the copies require their gradient");
    // df_d/dx_d of copy (d, b): [D batch, D] -> [D batch] -> [D, batch] -> sum over d -> [batch]
    let diagonal = jacobian_rows * eye.inner();
    diagonal
        .sum_dim(1)
        .reshape([dim, batch])
        .sum_dim(0)
        .reshape([batch])
}

/// log p(x) of the data end of the ODE, by Euler steps over `ts` from the data's time to the
/// noise's time, with the divergence accumulated at every step:
///
/// log p_{t_0}(x_{t_0}) = log p_{t_K}(x_{t_K}) + sum_k div f(x_{t_k}, t_k) (t_{k+1} - t_k),
///
/// where `log_base` is the known density at the noise's end.
///
/// # Shapes
/// - x: [batch, D], on an autodiff device
/// - returns: [batch]
pub fn ode_log_likelihood(
    field: &impl Field,
    x: Tensor<2>,
    ts: &[f64],
    log_base: impl Fn(Tensor<2>) -> Tensor<1>,
) -> Tensor<1> {
    let [batch, _] = x.dims();
    let device = x.device();
    let mut x = x.detach();
    let mut integral = Tensor::<1>::zeros([batch], &device);
    for pair in ts.windows(2) {
        let (t, dt) = (pair[0], pair[1] - pair[0]);
        integral = integral + divergence(field, x.clone(), t) * dt;
        let f = field
            .velocity(x.clone(), time_column(t, batch, &device))
            .detach();
        x = (x + f * dt).detach();
    }
    log_base(x) + integral
}
// ANCHOR_END: likelihood
