//! Operations fused into one pass (or one matrix product), forward and backward, on the CPU
//! backend.
//!
//! Under autodiff, burn runs an operation written with tensor ops as a chain of small ops, each
//! a pass over the data into a new tensor. Here an operation is one pass of its own, through
//! burn's backend extension ([`FusedOps`]): a kernel for burn-flex and, for autodiff over
//! burn-flex, a backward step that computes the input's gradient in one pass from the saved
//! input. Every other backend (ndarray, wgpu) runs the same operation as tensor ops, unchanged.
//!
//! The operations with kernels, in the order of this file and its submodules:
//! - SELU ([`selu`]), nine tensor ops forward and as many backward: the pattern for an
//!   activation with a backward of its own. On its own it did not make a flow-matching
//!   training pass measurably faster; the matrix products and the optimiser dominate.
//! - GELU ([`gelu`], in `gelu.rs`): Phi and the normal density from one exponential and a
//!   rational polynomial, in SIMD lanes.
//! - Adamax's step ([`adamax_step`]), ten tensor ops over every parameter per step: 31% of a
//!   flow-matching training pass on burn-flex, 9% as one pass.
//! - Causal self-attention ([`causal_attention`], in `attention.rs`): the heads read in place
//!   from the input projection, four matrix products and a row pass each way.
//! - 2-D convolutions and transposed convolutions ([`conv2d`], [`conv_transpose2d`], in
//!   `conv.rs`): im2col and one matrix product per image forward, two backward, where burn-flex
//!   has no backward of its own.
//! - Linear layers ([`linear`], in `linear.rs`): y = x W + b and its three backward products,
//!   each split by output columns across the threads from 2^21 multiply-adds, where burn-flex
//!   keeps products below 192^3 on one thread and splits larger ones more slowly.
//! - Layer norm and log-softmax ([`layer_norm`], [`log_softmax`], in `rows.rs`): one pass per
//!   row each way.
//! - The windows of a causal 1-D convolution ([`causal_windows`], in `windows.rs`): a padding,
//!   k slices and a concatenation forward, k padded gradients added backward, as one copy each.
//!
//! SELU, Adamax and the windows repeat the tensor ops' arithmetic in the same order, in `f32`,
//! so a model gives the same numbers to the last bit with or without them (the tests compare
//! them bit by bit). The others sum in another order than burn's (GELU approximates erf to
//! 1.5e-7) and agree with it to rounding.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::tensor::activation::relu;
use burn::tensor::{DType, Device, Tensor};
use rayon::prelude::*;

mod attention;
mod conv;
mod gelu;
mod linear;
pub mod matrix;
mod rows;
mod windows;
pub use attention::{AttentionOps, causal_attention, causal_attention_composed};
pub use conv::{ConvOps, conv_transpose2d, conv2d};
pub use linear::{LinearOps, linear, linear_layer};
pub use rows::{RowOps, layer_norm, log_softmax};
pub use windows::{WindowOps, causal_windows, causal_windows_composed};

/// lambda and alpha of SELU, chosen so that activations keep mean 0 and variance 1
/// (Klambauer et al., 2017).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

/// Elements from which a pass is split across the threads: below it, waking a second thread
/// costs more than it saves.
const PARALLEL_ELEMENTS: usize = 1 << 18;

/// Elements one thread takes at a time above [`PARALLEL_ELEMENTS`].
const CHUNK: usize = 1 << 14;

/// SELU(x) = lambda x for x > 0, lambda alpha (e^x - 1) otherwise, element-wise.
///
/// On burn-flex (with or without autodiff) one fused pass each way; elsewhere the tensor ops of
/// [`selu_composed`].
pub fn selu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if on_flex(&x.device()) {
        Tensor::from_dispatch(<Dispatch as FusedOps>::selu(x.into_dispatch()))
    } else {
        selu_composed(x)
    }
}

/// SELU as tensor ops: lambda (relu(x) + alpha (exp(min(x, 0)) - 1)), with
/// min(x, 0) = -relu(-x). Autodiff differentiates it op by op.
pub fn selu_composed<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let negative = (relu(x.clone().neg()).neg().exp() - 1.0) * SELU_ALPHA;
    (relu(x) + negative) * SELU_LAMBDA
}

/// One element of [`selu_composed`], in the order its ops run (the scalars rounded to `f32` as
/// burn-flex rounds them).
fn selu_value(x: f32) -> f32 {
    let (lambda, alpha) = (SELU_LAMBDA as f32, SELU_ALPHA as f32);
    let exp_min = (-relu_value(-x)).exp();
    (relu_value(x) + (exp_min - 1.0) * alpha) * lambda
}

/// The gradient of SELU at x given the gradient g of its output, as autodiff computes it through
/// [`selu_composed`]: g lambda where x > 0, plus g lambda alpha e^min(x, 0) where -x > 0.
fn selu_gradient(x: f32, g: f32) -> f32 {
    let (lambda, alpha) = (SELU_LAMBDA as f32, SELU_ALPHA as f32);
    let g_sum = g * lambda;
    let exp_min = (-relu_value(-x)).exp();
    let g_exp = g_sum * alpha * exp_min;
    let through_relu = relu_gradient(x, g_sum);
    let through_negative = -relu_gradient(-x, -g_exp);
    through_relu + through_negative
}

/// relu(x) as burn-flex computes it: NaN passes through.
fn relu_value(x: f32) -> f32 {
    if x.is_nan() || x > 0.0 { x } else { 0.0 }
}

/// The gradient g of relu's output passed back to its input x (burn-flex's `relu_backward`).
fn relu_gradient(x: f32, g: f32) -> f32 {
    if x.is_nan() || x > 0.0 { g } else { 0.0 }
}

/// Whether a tensor on `device` lives on burn-flex, the backend with fused kernels.
fn on_flex(device: &Device) -> bool {
    matches!(
        device.clone().inner().as_dispatch(),
        DispatchDevice::Flex(_)
    )
}

/// GELU(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, element-wise.
///
/// On burn-flex (with or without autodiff) one pass each way in SIMD lanes (`gelu.rs`), split
/// across the threads above [`PARALLEL_ELEMENTS`]; elsewhere burn's `gelu`.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if on_flex(&x.device()) {
        Tensor::from_dispatch(<Dispatch as FusedOps>::gelu(x.into_dispatch()))
    } else {
        burn::tensor::activation::gelu(x)
    }
}

/// The fused operations, implemented for burn-flex and for autodiff over burn-flex. The public
/// functions of this module call them only for tensors on burn-flex.
#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// SELU, element-wise.
    fn selu(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// GELU, element-wise.
    fn gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl FusedOps for Flex {
    fn selu(x: FlexTensor) -> FlexTensor {
        map(&x, selu_value)
    }

    fn gelu(x: FlexTensor) -> FlexTensor {
        map_slices(&x, gelu::forward_slice)
    }
}

/// The backward step of SELU: the input's gradient from the saved input and the output's
/// gradient, in one pass.
#[derive(Debug)]
struct SeluBackward;

impl Backward<Flex, 1> for SeluBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(parent) = parent {
            grads.register::<Flex>(parent.id, zip(&ops.state, &grad, selu_gradient));
        }
    }
}

/// The backward step of GELU: the input's gradient from the saved input and the output's
/// gradient, in one pass.
#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(parent) = parent {
            grads.register::<Flex>(
                parent.id,
                zip_slices(&ops.state, &grad, gelu::backward_slice),
            );
        }
    }
}

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
    fn selu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match SeluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                let output = map(&input, selu_value);
                prep.finish(input, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(map(x.primitive(), selu_value)),
        }
    }

    fn gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match GeluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                let output = map_slices(&input, gelu::forward_slice);
                prep.finish(input, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(map_slices(x.primitive(), gelu::forward_slice)),
        }
    }
}

/// A tensor's float32 values, contiguous, with its shape.
struct Values {
    tensor: FlexTensor,
    shape: Vec<usize>,
}

impl Values {
    fn of(x: &FlexTensor) -> Values {
        assert_eq!(x.dtype(), DType::F32, "the fused ops run in float32");
        let tensor = x.to_contiguous();
        let shape = tensor.layout().shape().to_vec();
        Values { tensor, shape }
    }

    fn slice(&self) -> &[f32] {
        self.tensor
            .as_slice()
            .expect("a contiguous tensor has a slice")
    }
}

/// A burn-flex tensor of `shape` holding `values`.
fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(burn::tensor::TensorData::new(values, shape.to_vec()))
}

/// f applied to every element of `x` (float32), into a new contiguous tensor of its shape.
fn map(x: &FlexTensor, f: impl Fn(f32) -> f32 + Sync) -> FlexTensor {
    map_slices(x, |out, input| {
        for (o, &v) in out.iter_mut().zip(input) {
            *o = f(v);
        }
    })
}

/// `pass(out, x)` over the elements of `x` (float32), into a new contiguous tensor of its
/// shape: the whole tensor at once, or chunks of [`CHUNK`] across the threads above
/// [`PARALLEL_ELEMENTS`].
fn map_slices(x: &FlexTensor, pass: impl Fn(&mut [f32], &[f32]) + Sync) -> FlexTensor {
    assert_eq!(x.dtype(), DType::F32, "the fused ops run in float32");
    let x = x.to_contiguous();
    let input: &[f32] = x.as_slice().expect("a contiguous tensor has a slice");
    let mut output = FlexTensor::empty(x.layout().shape().clone(), DType::F32);
    let out: &mut [f32] = output.storage_mut();
    let pass = |(out, input): (&mut [f32], &[f32])| pass(out, input);
    if input.len() < PARALLEL_ELEMENTS {
        pass((out, input));
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(input.par_chunks(CHUNK))
            .for_each(pass);
    }
    output
}

/// f(x, g) for every pair of elements of `x` and `g` (float32, the same shape), into a new
/// contiguous tensor of that shape.
fn zip(x: &FlexTensor, g: &FlexTensor, f: impl Fn(f32, f32) -> f32 + Sync) -> FlexTensor {
    zip_slices(x, g, |out, xs, gs| {
        for ((o, &x), &g) in out.iter_mut().zip(xs).zip(gs) {
            *o = f(x, g);
        }
    })
}

/// `pass(out, x, g)` over the elements of `x` and `g` (float32, the same shape), into a new
/// contiguous tensor of that shape, split as [`map_slices`] splits.
fn zip_slices(
    x: &FlexTensor,
    g: &FlexTensor,
    pass: impl Fn(&mut [f32], &[f32], &[f32]) + Sync,
) -> FlexTensor {
    assert_eq!(x.layout().shape(), g.layout().shape(), "zip: shapes differ");
    let (x, g) = (x.to_contiguous(), g.to_contiguous());
    let xs: &[f32] = x.as_slice().expect("a contiguous tensor has a slice");
    let gs: &[f32] = g.as_slice().expect("a contiguous tensor has a slice");
    let mut output = FlexTensor::empty(x.layout().shape().clone(), DType::F32);
    let out: &mut [f32] = output.storage_mut();
    let pass = |(out, (xs, gs)): (&mut [f32], (&[f32], &[f32]))| pass(out, xs, gs);
    if xs.len() < PARALLEL_ELEMENTS {
        pass((out, (xs, gs)));
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(xs.par_chunks(CHUNK).zip(gs.par_chunks(CHUNK)))
            .for_each(pass);
    }
    output
}

/// The scalars of one Adamax step (see [`crate::optim`]): the decays, epsilon and the step size
/// lr / (1 - beta_1^t).
#[derive(Clone, Copy, Debug)]
pub struct AdamaxStep {
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub step_size: f64,
}

/// One Adamax step: the new (theta, m, u) from theta, the gradient g, m and u, all of one shape.
///
/// On plain burn-flex tensors (no autodiff, as the optimiser holds them) one pass, in place;
/// elsewhere tensor ops.
pub fn adamax_step<const D: usize>(
    theta: Tensor<D>,
    g: Tensor<D>,
    moment: Tensor<D>,
    inf_norm: Tensor<D>,
    step: AdamaxStep,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    if !on_plain_flex(&theta.device()) {
        // m_t = beta_1 m_{t-1} + (1 - beta_1) g_t
        let moment = moment * step.beta_1 + g.clone() * (1.0 - step.beta_1);
        // u_t = max(beta_2 u_{t-1}, |g_t| + eps)
        let inf_norm = (inf_norm * step.beta_2).max_pair(g.abs() + step.epsilon);
        // theta_t = theta_{t-1} - lr / (1 - beta_1^t) * m_t / u_t
        let theta = theta - moment.clone().div(inf_norm.clone()) * step.step_size;
        return (theta, moment, inf_norm);
    }
    let flex = |t: Tensor<D>| {
        t.try_into_primitive::<Flex>()
            .expect("adamax_step takes plain burn-flex tensors")
    };
    let (theta, g, moment, inf_norm) = (flex(theta), flex(g), flex(moment), flex(inf_norm));
    let [theta, moment, inf_norm] = adamax_kernel(theta, &g, moment, inf_norm, step);
    (
        Tensor::from_primitive::<Flex>(theta),
        Tensor::from_primitive::<Flex>(moment),
        Tensor::from_primitive::<Flex>(inf_norm),
    )
}

/// One element of the Adamax step, in the order of the tensor ops of [`adamax_step`]:
/// m = beta_1 m + (1 - beta_1) g; u = max(beta_2 u, |g| + eps); theta = theta - (m / u) s.
fn adamax_element(theta: f32, g: f32, m: f32, u: f32, step: &AdamaxStep) -> [f32; 3] {
    let m = m * step.beta_1 as f32 + g * (1.0 - step.beta_1) as f32;
    let (decayed, current) = (u * step.beta_2 as f32, g.abs() + step.epsilon as f32);
    // max_pair: the second where the first is lower.
    let u = if decayed < current { current } else { decayed };
    [theta - (m / u) * step.step_size as f32, m, u]
}

/// [`adamax_element`] over whole tensors, in place where a tensor's buffer is its own, split
/// across the threads above [`PARALLEL_ELEMENTS`].
fn adamax_kernel(
    theta: FlexTensor,
    g: &FlexTensor,
    moment: FlexTensor,
    inf_norm: FlexTensor,
    step: AdamaxStep,
) -> [FlexTensor; 3] {
    for t in [&theta, g, &moment, &inf_norm] {
        assert_eq!(t.dtype(), DType::F32, "the fused ops run in float32");
        assert_eq!(
            t.layout().shape(),
            g.layout().shape(),
            "adamax: shapes differ"
        );
    }
    let g = g.to_contiguous();
    let gs: &[f32] = g.as_slice().expect("a contiguous tensor has a slice");
    // Contiguous from offset 0, and copied only if another tensor shares the buffer.
    let mut outputs = [theta, moment, inf_norm].map(|t| t.to_contiguous());
    let [theta, moment, inf_norm] = outputs.each_mut().map(|t| t.storage_mut::<f32>());
    if gs.len() < PARALLEL_ELEMENTS {
        adamax_pass(theta, moment, inf_norm, gs, &step);
    } else {
        theta
            .par_chunks_mut(CHUNK)
            .zip(moment.par_chunks_mut(CHUNK))
            .zip(inf_norm.par_chunks_mut(CHUNK).zip(gs.par_chunks(CHUNK)))
            .for_each(|((theta, moment), (inf_norm, g))| {
                adamax_pass(theta, moment, inf_norm, g, &step)
            });
    }
    outputs
}

/// [`adamax_element`] over slices of one length, in place.
fn adamax_pass(
    theta: &mut [f32],
    moment: &mut [f32],
    inf_norm: &mut [f32],
    g: &[f32],
    step: &AdamaxStep,
) {
    let values = theta
        .iter_mut()
        .zip(moment.iter_mut())
        .zip(inf_norm.iter_mut().zip(g));
    for ((t, m), (u, &g)) in values {
        [*t, *m, *u] = adamax_element(*t, g, *m, *u, step);
    }
}

/// Whether tensors on `device` are plain burn-flex tensors: on burn-flex, without autodiff.
fn on_plain_flex(device: &Device) -> bool {
    !device.is_autodiff() && on_flex(device)
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, TensorData};

    use super::*;
    use crate::data::to_host;

    /// Values around 0 on both sides, exact zeros and an odd count: the cases the branches meet.
    fn points(device: &Device, n: usize) -> Tensor<2> {
        let x = Tensor::<2>::random([n, 7], Distribution::Normal(0.0, 3.0), device);
        let zeros = Tensor::<2>::zeros([1, 7], device);
        Tensor::cat(vec![x, zeros], 0)
    }

    /// Every pair of values within `tolerance` (1 + |b|) of each other.
    pub(super) fn assert_close(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tolerance * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// The gradient of `loss` at `values` (of `shape`) against central differences
    /// (L(v + h e_i) - L(v - h e_i)) / 2h, element by element.
    pub(super) fn assert_matches_finite_differences<const D: usize>(
        loss: impl Fn(Tensor<D>) -> Tensor<1>,
        values: Tensor<D>,
        what: &str,
    ) {
        let (device, shape) = (values.device(), values.dims());
        let at = |v: &[f32]| Tensor::<1>::from_floats(v, &device).reshape(shape);
        let values = to_host(values);
        let x = at(&values).require_grad();
        let grads = loss(x.clone()).backward();
        let gradient = to_host(x.grad(&grads).expect("a gradient"));
        let h = 1e-2f32;
        for (i, &g) in gradient.iter().enumerate() {
            let shifted = |delta: f32| {
                let mut v = values.clone();
                v[i] += delta;
                to_host(loss(at(&v)))[0]
            };
            let finite = (shifted(h) - shifted(-h)) / (2.0 * h);
            assert!(
                (g - finite).abs() < 1e-2 * (1.0 + g.abs()),
                "{what}[{i}]: {g} vs {finite}"
            );
        }
    }

    /// Values drawn from N(0, 1) on `device`.
    pub(super) fn normal<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    /// `f` run on a rayon pool of `threads` threads.
    pub(super) fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(f)
    }

    /// The bits of every element: equal bits, equal numbers (and the same zeros and NaNs).
    pub(super) fn bits<const D: usize>(x: Tensor<D>) -> Vec<u32> {
        to_host(x).into_iter().map(f32::to_bits).collect()
    }

    #[test]
    fn the_fused_selu_equals_the_composed_one_bit_for_bit() {
        let device = Device::flex();
        device.seed(3);
        // Both sides of the parallel threshold.
        for n in [5, PARALLEL_ELEMENTS / 7 + 3] {
            let x = points(&device, n);
            assert_eq!(bits(selu(x.clone())), bits(selu_composed(x)), "n = {n}");
        }
    }

    #[test]
    fn the_fused_selu_gradient_equals_autodiffs_of_the_composed_one_bit_for_bit() {
        let device = Device::flex().autodiff();
        device.seed(4);
        for n in [5, PARALLEL_ELEMENTS / 7 + 3] {
            let x = points(&device, n);
            let weights = Tensor::<2>::random(x.dims(), Distribution::Normal(0.0, 1.0), &device);
            let gradient = |f: fn(Tensor<2>) -> Tensor<2>| {
                let x = x.clone().require_grad();
                let loss = (f(x.clone()) * weights.clone()).sum();
                let grads = loss.backward();
                bits(x.grad(&grads).expect("x has a gradient"))
            };
            assert_eq!(gradient(selu), gradient(selu_composed), "n = {n}");
        }
    }

    #[test]
    fn the_fused_gelu_and_its_gradient_agree_with_burns() {
        let device = Device::flex().autodiff();
        device.seed(6);
        // Both sides of the parallel threshold.
        for n in [5, PARALLEL_ELEMENTS / 7 + 3] {
            let x = points(&device, n);
            let weights = Tensor::<2>::random(x.dims(), Distribution::Normal(0.0, 1.0), &device);
            let run = |f: fn(Tensor<2>) -> Tensor<2>| {
                let x = x.clone().require_grad();
                let y = f(x.clone());
                let grads = (y.clone() * weights.clone()).sum().backward();
                (
                    to_host(y),
                    to_host(x.grad(&grads).expect("x has a gradient")),
                )
            };
            let ((y, dx), (burn_y, burn_dx)) = (run(gelu), run(burn::tensor::activation::gelu));
            for (a, b) in y.iter().zip(&burn_y).chain(dx.iter().zip(&burn_dx)) {
                assert!(
                    (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                    "n = {n}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn the_fused_selu_gradient_matches_finite_differences() {
        let device = Device::flex().autodiff();
        let points = [-2.5f32, -0.3, 0.2, 1.7];
        let x = Tensor::<1>::from_data(TensorData::from(points), &device).require_grad();
        let grads = selu(x.clone()).sum().backward();
        let gradient = to_host(x.grad(&grads).expect("x has a gradient"));
        let h = 1e-3f64;
        for (&p, &g) in points.iter().zip(&gradient) {
            let value = |v: f64| selu_value(v as f32) as f64;
            let finite = (value(p as f64 + h) - value(p as f64 - h)) / (2.0 * h);
            assert!((g as f64 - finite).abs() < 1e-3, "at {p}: {g} vs {finite}");
        }
    }

    #[cfg(feature = "ndarray")]
    #[test]
    fn other_backends_run_the_composed_selu() {
        let device = Device::ndarray();
        assert!(!on_flex(&device));
        let x = points(&device, 5);
        assert_eq!(bits(selu(x.clone())), bits(selu_composed(x)));
    }

    #[test]
    fn the_fused_step_equals_the_composed_one_bit_for_bit() {
        let device = Device::flex();
        device.seed(5);
        let step = AdamaxStep {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            step_size: 1e-3 / (1.0 - 0.9f64.powi(3)),
        };
        // Both sides of the parallel threshold; some gradients exactly 0.
        for rows in [3, 40_001] {
            let normal =
                |scale| Tensor::<2>::random([rows, 7], Distribution::Normal(0.0, scale), &device);
            let g = normal(1.0).mask_fill(normal(1.0).greater_elem(1.5), 0.0);
            let inputs = (normal(1.0), g, normal(0.1), normal(1.0).abs());
            let (theta, g, moment, inf_norm) = inputs;
            let fused = adamax_step(
                theta.clone(),
                g.clone(),
                moment.clone(),
                inf_norm.clone(),
                step,
            );
            // On an autodiff device the step runs as tensor ops.
            let tensor_ops = Device::flex().autodiff();
            let [theta, g, moment, inf_norm] = [theta, g, moment, inf_norm]
                .map(|t| Tensor::<2>::from_data(t.into_data(), &tensor_ops));
            assert!(!on_plain_flex(&theta.device()));
            let composed = adamax_step(theta, g, moment, inf_norm, step);
            assert_eq!(bits(fused.0), bits(composed.0), "theta, {rows} rows");
            assert_eq!(bits(fused.1), bits(composed.1), "m, {rows} rows");
            assert_eq!(bits(fused.2), bits(composed.2), "u, {rows} rows");
        }
    }
}
