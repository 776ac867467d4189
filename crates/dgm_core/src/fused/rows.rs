//! Operations on the rows of a tensor (its last dimension), one pass per row each way: layer
//! normalisation and log-softmax.
//!
//! Under autodiff burn writes both as chains of tensor ops (layer norm: a mean, a difference, a
//! square, a second mean, a square root, a quotient, a product and a sum; log-softmax: a max, a
//! difference, an exponential, a sum and a logarithm), each a pass over the tensor into a new
//! one, and as many backward. Here each direction is one pass over every row:
//!
//! layer norm:  x^ = (x - mean(x)) / sqrt(var(x) + eps),  y = gamma x^ + beta
//!   backward:  dx = (g^ - mean(g^) - x^ mean(g^ x^)) / sqrt(var(x) + eps),  g^ = gamma g,
//!              dgamma = sum over rows of g x^,  dbeta = sum over rows of g
//! log-softmax: y = x - m - log sum exp(x - m),  m = max(x)
//!   backward:  dx = g - exp(y) sum(g)
//!
//! Their sums run in another order than burn's, so the two agree to rounding, not to the bit.
//! The sums over rows (dgamma, dbeta) add fixed groups of rows in a fixed order, so they do not
//! depend on the number of threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::activation;
use burn::tensor::{DType, Shape, Tensor};
use rayon::prelude::*;

use super::{PARALLEL_ELEMENTS, on_flex};

/// Rows whose gradients of gamma and beta are summed together before the groups are added.
const GROUP_ROWS: usize = 64;

/// gamma (x - mean(x)) / sqrt(var(x) + epsilon) + beta over the last dimension, var the biased
/// variance (burn's and PyTorch's layer norm).
///
/// On burn-flex one fused pass each way; elsewhere burn's `layer_norm`.
///
/// # Shapes
/// - x: [..., D]
/// - gamma, beta: [D]
pub fn layer_norm<const N: usize>(
    x: Tensor<N>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> Tensor<N> {
    if on_flex(&x.device()) {
        Tensor::from_dispatch(<Dispatch as RowOps>::layer_norm(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            epsilon,
        ))
    } else {
        burn::tensor::module::layer_norm(x, gamma, Some(beta), epsilon)
    }
}

/// log softmax(x) over the last dimension.
///
/// On burn-flex one fused pass each way; elsewhere burn's `log_softmax`.
pub fn log_softmax<const N: usize>(x: Tensor<N>) -> Tensor<N> {
    if on_flex(&x.device()) {
        Tensor::from_dispatch(<Dispatch as RowOps>::log_softmax(x.into_dispatch()))
    } else {
        activation::log_softmax(x, N - 1)
    }
}

/// The row ops, implemented for burn-flex and for autodiff over burn-flex.
#[backend_extension(Flex, Autodiff)]
pub trait RowOps: Backend {
    /// [`layer_norm`].
    fn layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;

    /// [`log_softmax`].
    fn log_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl RowOps for Flex {
    fn layer_norm(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64) -> FlexTensor {
        normalise(&x, &gamma, &beta, epsilon as f32).0
    }

    fn log_softmax(x: FlexTensor) -> FlexTensor {
        log_softmax_rows(&x)
    }
}

/// The values of a contiguous float32 tensor and the length of its rows.
fn rows(x: &FlexTensor) -> (FlexTensor, usize) {
    assert_eq!(x.dtype(), DType::F32, "the fused ops run in float32");
    let x = x.to_contiguous();
    let width = *x
        .layout()
        .shape()
        .last()
        .expect("a row op needs a dimension");
    assert!(width > 0, "a row op needs rows of at least one value");
    (x, width)
}

/// `pass` over every row of `out` and its rows of `inputs` (`width` values each), split across
/// the threads above [`PARALLEL_ELEMENTS`].
fn each_row<const K: usize>(
    out: &mut [f32],
    inputs: [&[f32]; K],
    width: usize,
    pass: impl Fn(&mut [f32], [&[f32]; K], usize) + Sync,
) {
    let row = |(i, out): (usize, &mut [f32])| {
        let inputs = inputs.map(|x| &x[i * width..(i + 1) * width]);
        pass(out, inputs, i)
    };
    if out.len() < PARALLEL_ELEMENTS {
        out.chunks_exact_mut(width).enumerate().for_each(row);
    } else {
        out.par_chunks_exact_mut(width).enumerate().for_each(row);
    }
}

/// The mean and 1 / sqrt(var + epsilon) of one row.
#[derive(Clone, Copy, Debug)]
struct Moments {
    mean: f32,
    inverse_std: f32,
}

impl Moments {
    /// mean = sum x / D,  var = sum (x - mean)^2 / D
    fn of(x: &[f32], epsilon: f32) -> Moments {
        let n = x.len() as f32;
        let mean = x.iter().sum::<f32>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        Moments {
            mean,
            inverse_std: 1.0 / (var + epsilon).sqrt(),
        }
    }
}

/// The moments of every row of `x` (`width` values each).
fn moments(x: &[f32], width: usize, epsilon: f32) -> Vec<Moments> {
    if x.len() < PARALLEL_ELEMENTS {
        x.chunks_exact(width)
            .map(|row| Moments::of(row, epsilon))
            .collect()
    } else {
        x.par_chunks_exact(width)
            .map(|row| Moments::of(row, epsilon))
            .collect()
    }
}

/// The forward layer norm of every row: y, and the rows' moments for the backward pass.
fn normalise(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f32,
) -> (FlexTensor, Vec<Moments>) {
    let (x, width) = rows(x);
    let (gamma, beta) = (gamma.to_contiguous(), beta.to_contiguous());
    let gamma: &[f32] = gamma.as_slice().expect("a contiguous tensor has a slice");
    let beta: &[f32] = beta.as_slice().expect("a contiguous tensor has a slice");
    assert!(
        gamma.len() == width && beta.len() == width,
        "layer norm: gamma and beta must have one value per column"
    );
    let values: &[f32] = x.as_slice().expect("a contiguous tensor has a slice");
    let moments = moments(values, width, epsilon);
    let mut y = FlexTensor::empty(x.layout().shape().clone(), DType::F32);
    each_row(y.storage_mut::<f32>(), [values], width, |out, [x], i| {
        let Moments { mean, inverse_std } = moments[i];
        // y = gamma x^ + beta,  x^ = (x - mean) / sqrt(var + eps)
        for ((o, v), (g, b)) in out.iter_mut().zip(x).zip(gamma.iter().zip(beta)) {
            *o = g * ((v - mean) * inverse_std) + b;
        }
    });
    (y, moments)
}

/// The forward log-softmax of every row.
fn log_softmax_rows(x: &FlexTensor) -> FlexTensor {
    let (x, width) = rows(x);
    let values: &[f32] = x.as_slice().expect("a contiguous tensor has a slice");
    let mut y = FlexTensor::empty(x.layout().shape().clone(), DType::F32);
    each_row(y.storage_mut::<f32>(), [values], width, |out, [x], _| {
        // y = x - m - log sum exp(x - m),  m = max(x)
        let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_total = x.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
        for (o, v) in out.iter_mut().zip(x) {
            *o = v - m - log_total;
        }
    });
    y
}

/// What the layer norm's backward step keeps.
#[derive(Clone, Debug)]
struct SavedNorm {
    x: FlexTensor,
    moments: Vec<Moments>,
    gamma: FlexTensor,
}

/// The backward step of the layer norm: the gradients of x, gamma and beta.
#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Flex, 3> for LayerNormBackward {
    type State = SavedNorm;

    fn backward(self, ops: Ops<SavedNorm, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let computed = layer_norm_gradients(&ops.state, &grad);
        for (parent, gradient) in ops.parents.into_iter().zip(computed) {
            if let Some(parent) = parent {
                grads.register::<Flex>(parent.id, gradient);
            }
        }
    }
}

/// dx, dgamma and dbeta from the output's gradient g.
fn layer_norm_gradients(saved: &SavedNorm, grad: &FlexTensor) -> [FlexTensor; 3] {
    let (grad, width) = rows(grad);
    let g: &[f32] = grad.as_slice().expect("a contiguous tensor has a slice");
    let x = saved.x.to_contiguous();
    let x: &[f32] = x.as_slice().expect("a contiguous tensor has a slice");
    let gamma = saved.gamma.to_contiguous();
    let gamma: &[f32] = gamma.as_slice().expect("a contiguous tensor has a slice");
    let moments = &saved.moments;
    let mut dx = FlexTensor::empty(grad.layout().shape().clone(), DType::F32);
    each_row(dx.storage_mut::<f32>(), [g, x], width, |out, [g, x], i| {
        let Moments { mean, inverse_std } = moments[i];
        let hat = |v: f32| (v - mean) * inverse_std;
        // g^ = gamma g;  dx = (g^ - mean(g^) - x^ mean(g^ x^)) / sqrt(var + eps)
        let n = width as f32;
        let (mut mean_g, mut mean_gx) = (0.0f32, 0.0f32);
        for ((g, &v), gamma) in g.iter().zip(x).zip(gamma) {
            mean_g += gamma * g;
            mean_gx += gamma * g * hat(v);
        }
        let (mean_g, mean_gx) = (mean_g / n, mean_gx / n);
        for ((o, (g, &v)), gamma) in out.iter_mut().zip(g.iter().zip(x)).zip(gamma) {
            *o = (gamma * g - mean_g - hat(v) * mean_gx) * inverse_std;
        }
    });
    // dgamma = sum_rows g x^, dbeta = sum_rows g: per group of rows, then the groups in order.
    let group = GROUP_ROWS * width;
    let partial = |(first, (g, x)): (usize, (&[f32], &[f32]))| {
        let mut sums = vec![0.0f32; 2 * width];
        let (d_gamma, d_beta) = sums.split_at_mut(width);
        let rows = g.chunks_exact(width).zip(x.chunks_exact(width));
        for (i, (g, x)) in rows.enumerate() {
            let Moments { mean, inverse_std } = moments[first * GROUP_ROWS + i];
            for (((dg, db), g), v) in d_gamma.iter_mut().zip(d_beta.iter_mut()).zip(g).zip(x) {
                *dg += g * ((v - mean) * inverse_std);
                *db += g;
            }
        }
        sums
    };
    let partials: Vec<Vec<f32>> = if g.len() < PARALLEL_ELEMENTS {
        let groups = g.chunks(group).zip(x.chunks(group));
        groups.enumerate().map(partial).collect()
    } else {
        let groups = g.par_chunks(group).zip(x.par_chunks(group));
        groups.enumerate().map(partial).collect()
    };
    let mut sums = vec![0.0f32; 2 * width];
    for part in &partials {
        for (s, p) in sums.iter_mut().zip(part) {
            *s += p;
        }
    }
    let d_beta = sums.split_off(width);
    let vector = |values: Vec<f32>| {
        FlexTensor::new(
            burn::tensor::Bytes::from_elems(values),
            burn::backend::flex::Layout::contiguous(Shape::new([width])),
            DType::F32,
        )
    };
    [dx, vector(sums), vector(d_beta)]
}

/// The backward step of log-softmax: dx = g - exp(y) sum(g), from the saved output y.
#[derive(Debug)]
struct LogSoftmaxBackward;

impl Backward<Flex, 1> for LogSoftmaxBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(parent) = parent {
            let (grad, width) = rows(&grad);
            let g: &[f32] = grad.as_slice().expect("a contiguous tensor has a slice");
            let y: &[f32] = ops
                .state
                .as_slice()
                .expect("the saved output is contiguous");
            let mut dx = FlexTensor::empty(grad.layout().shape().clone(), DType::F32);
            each_row(dx.storage_mut::<f32>(), [g, y], width, |out, [g, y], _| {
                let total: f32 = g.iter().sum();
                for (o, (g, y)) in out.iter_mut().zip(g.iter().zip(y)) {
                    *o = g - y.exp() * total;
                }
            });
            grads.register::<Flex>(parent.id, dx);
        }
    }
}

impl<C: CheckpointStrategy> RowOps for Autodiff<Flex, C> {
    fn layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let (y, moments) = normalise(
            x.primitive(),
            gamma.primitive(),
            beta.primitive(),
            epsilon as f32,
        );
        match LayerNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let saved = SavedNorm {
                    x: x.primitive().clone(),
                    moments,
                    gamma: gamma.primitive().clone(),
                };
                prep.finish(saved, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn log_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let y = log_softmax_rows(x.primitive());
        match LogSoftmaxBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution, Int, TensorData};

    use super::*;
    use crate::data::to_host;
    use crate::fused::tests::{assert_close, on_threads};

    /// [rows, width] deterministic values in about [-2, 2], shifted per row so that rows differ
    /// in mean and spread.
    fn values(rows: usize, width: usize, device: &Device) -> Tensor<2> {
        let n = (rows * width) as i64;
        let x = Tensor::<1, Int>::arange(0..n, device).float();
        (x.clone().mul_scalar(0.61).sin() * 2.0 + x.mul_scalar(0.013).cos()).reshape([rows, width])
    }

    /// One row, one column, odd widths, and both sides of the parallel threshold.
    const SHAPES: [(usize, usize); 5] = [(1, 1), (1, 7), (5, 3), (130, 64), (4099, 65)];

    fn parameters(width: usize, device: &Device) -> (Tensor<1>, Tensor<1>) {
        let gamma = values(1, width, device).reshape([width]) * 0.5 + 1.0;
        let beta = values(1, width, device).reshape([width]).flip([0]) * 0.3;
        (gamma, beta)
    }

    #[test]
    fn the_fused_layer_norm_equals_burns() {
        let device = Device::flex();
        for (rows, width) in SHAPES {
            let x = values(rows, width, &device);
            let (gamma, beta) = parameters(width, &device);
            let fused = layer_norm(x.clone(), gamma.clone(), beta.clone(), 1e-5);
            let burns = burn::tensor::module::layer_norm(x, gamma, Some(beta), 1e-5);
            assert_close(
                &to_host(fused),
                &to_host(burns),
                1e-5,
                &format!("{rows}x{width}"),
            );
        }
    }

    #[test]
    fn the_fused_layer_norm_gradients_equal_autodiffs_of_burns() {
        let device = Device::flex().autodiff();
        for (rows, width) in SHAPES {
            let weights = values(rows, width, &device).flip([1]);
            let gradients = |fused: bool| {
                let x = values(rows, width, &device).require_grad();
                let (gamma, beta) = parameters(width, &device);
                let (gamma, beta) = (gamma.require_grad(), beta.require_grad());
                let y = if fused {
                    layer_norm(x.clone(), gamma.clone(), beta.clone(), 1e-5)
                } else {
                    burn::tensor::module::layer_norm(
                        x.clone(),
                        gamma.clone(),
                        Some(beta.clone()),
                        1e-5,
                    )
                };
                let grads = (y * weights.clone()).sum().backward();
                [
                    to_host(x.grad(&grads).expect("dx")),
                    to_host(gamma.grad(&grads).expect("dgamma")),
                    to_host(beta.grad(&grads).expect("dbeta")),
                ]
            };
            let (fused, burns) = (gradients(true), gradients(false));
            for (name, (a, b)) in ["x", "gamma", "beta"].iter().zip(fused.iter().zip(&burns)) {
                assert_close(a, b, 2e-4, &format!("d{name}, {rows}x{width}"));
            }
        }
    }

    /// The derivative of sum(f(x) * w) by every element of x, by central differences.
    fn finite_differences(
        x: &[f32],
        shape: [usize; 2],
        f: impl Fn(Tensor<2>) -> Tensor<2>,
        w: &Tensor<2>,
    ) -> Vec<f64> {
        let device = w.device();
        let loss = |values: Vec<f32>| -> f64 {
            let x = Tensor::<2>::from_data(TensorData::new(values, shape), &device);
            (f(x) * w.clone()).sum().into_scalar::<f32>() as f64
        };
        let h = 1e-2f32;
        (0..x.len())
            .map(|i| {
                let moved = |delta: f32| {
                    let mut v = x.to_vec();
                    v[i] += delta;
                    loss(v)
                };
                (moved(h) - moved(-h)) / (2.0 * h as f64)
            })
            .collect()
    }

    #[test]
    fn the_fused_gradients_match_finite_differences() {
        let device = Device::flex().autodiff();
        let shape = [3, 5];
        let x = to_host(values(3, 5, &device));
        let w = Tensor::<2>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let (gamma, beta) = parameters(5, &device);
        let check = |name: &str, f: &dyn Fn(Tensor<2>) -> Tensor<2>| {
            let tracked =
                Tensor::<2>::from_data(TensorData::new(x.clone(), shape), &device).require_grad();
            let grads = (f(tracked.clone()) * w.clone()).sum().backward();
            let gradient = to_host(tracked.grad(&grads).expect("x has a gradient"));
            let finite = finite_differences(&x, shape, f, &w);
            for (i, (g, d)) in gradient.iter().zip(&finite).enumerate() {
                assert!(
                    (*g as f64 - d).abs() < 5e-3 * (1.0 + d.abs()),
                    "{name}: d/dx[{i}] {g} vs {d}"
                );
            }
        };
        check("layer norm", &|x| {
            layer_norm(x, gamma.clone(), beta.clone(), 1e-5)
        });
        check("log-softmax", &log_softmax);
    }

    #[test]
    fn the_fused_log_softmax_and_its_gradient_equal_burns() {
        let device = Device::flex().autodiff();
        for (rows, width) in SHAPES {
            let weights = values(rows, width, &device).flip([0]);
            let run = |fused: bool| {
                let x = values(rows, width, &device).mul_scalar(3.0).require_grad();
                let y = if fused {
                    log_softmax(x.clone())
                } else {
                    activation::log_softmax(x.clone(), 1)
                };
                let grads = (y.clone() * weights.clone()).sum().backward();
                (to_host(y), to_host(x.grad(&grads).expect("dx")))
            };
            let ((y, dx), (burn_y, burn_dx)) = (run(true), run(false));
            let what = format!("{rows}x{width}");
            assert_close(&y, &burn_y, 1e-5, &what);
            assert_close(&dx, &burn_dx, 1e-4, &what);
        }
    }

    #[test]
    fn the_gradients_of_gamma_and_beta_do_not_depend_on_the_thread_count() {
        let (rows, width) = (4099, 65);
        let gradients = |threads: usize| {
            on_threads(threads, || {
                let device = Device::flex().autodiff();
                let x = values(rows, width, &device);
                let (gamma, beta) = parameters(width, &device);
                let (gamma, beta) = (gamma.require_grad(), beta.require_grad());
                let y = layer_norm(x, gamma.clone(), beta.clone(), 1e-5);
                let grads = y.powi_scalar(2).sum().backward();
                let bits =
                    |t: Tensor<1>| to_host(t).into_iter().map(f32::to_bits).collect::<Vec<_>>();
                (
                    bits(gamma.grad(&grads).expect("dgamma")),
                    bits(beta.grad(&grads).expect("dbeta")),
                )
            })
        };
        assert_eq!(gradients(1), gradients(2));
    }
}
