//! The windows of a causal 1-D convolution cut out in one pass, and put back in one pass.
//!
//! A causal convolution of kernel size k over a sequence [L, B, C] (position-major) applies one
//! linear map to every window of k consecutive positions (`ch02_arm::causal_conv`). As tensor
//! ops the windows are a zero padding, k slices and a concatenation; under autodiff the
//! backward is k zero-padded gradients added together and a slice. Here both directions are a
//! single copy: forward, every window row is filled from the input (or with zeros before the
//! sequence starts); backward, every input position sums the k window entries it was copied to.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::ops::PadMode;
use burn::tensor::{DType, Shape, Tensor};
use rayon::prelude::*;

use super::{PARALLEL_ELEMENTS, on_flex};

/// The windows of `x` [L, B, C]: `windows[i, b, j * C + c] = x[i + j - pad, b, c]`, zero where
/// i + j - pad < 0. With pad = k - 1, window i ends at position i; with pad = k, at i - 1.
///
/// # Shapes
/// - x: [L, B, C]
/// - returns: [L, B, k * C]
pub fn causal_windows(x: Tensor<3>, kernel_size: usize, pad: usize) -> Tensor<3> {
    assert!(
        pad >= kernel_size.saturating_sub(1) && pad <= kernel_size,
        "a causal window ends at its position or the one before it"
    );
    if on_flex(&x.device()) {
        Tensor::from_dispatch(<Dispatch as WindowOps>::causal_windows(
            x.into_dispatch(),
            kernel_size,
            pad,
        ))
    } else {
        causal_windows_composed(x, kernel_size, pad)
    }
}

// ANCHOR: causal_windows_composed
/// [`causal_windows`] as tensor ops: pad `pad` zeros in front, slice at each offset j, and
/// concatenate the k slices along the channels.
pub fn causal_windows_composed(x: Tensor<3>, kernel_size: usize, pad: usize) -> Tensor<3> {
    let [length, batch, channels] = x.dims();
    // [L, B, C] -> [pad + L, B, C]
    let padded = x.pad([(pad, 0), (0, 0), (0, 0)], PadMode::Constant(0.0));
    // Window i is padded positions i..i+k; offset j of every window at once is one slice.
    let offsets: Vec<Tensor<3>> = (0..kernel_size)
        .map(|j| padded.clone().slice([j..j + length, 0..batch, 0..channels]))
        .collect();
    // k x [L, B, C] -> [L, B, k * C]
    Tensor::cat(offsets, 2)
}
// ANCHOR_END: causal_windows_composed

/// The window op, implemented for burn-flex and for autodiff over burn-flex.
#[backend_extension(Flex, Autodiff)]
pub trait WindowOps: Backend {
    /// [`causal_windows`].
    fn causal_windows(x: FloatTensor<Self>, kernel_size: usize, pad: usize) -> FloatTensor<Self>;
}

impl WindowOps for Flex {
    fn causal_windows(x: FlexTensor, kernel_size: usize, pad: usize) -> FlexTensor {
        cut(&x, kernel_size, pad)
    }
}

/// What the backward step keeps: the kernel size and the padding.
#[derive(Clone, Copy, Debug)]
struct Window {
    kernel_size: usize,
    pad: usize,
}

/// The backward step: the input's gradient from the windows' gradient, in one pass.
#[derive(Debug)]
struct CausalWindowsBackward;

impl Backward<Flex, 1> for CausalWindowsBackward {
    type State = Window;

    fn backward(self, ops: Ops<Window, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(parent) = parent {
            let Window { kernel_size, pad } = ops.state;
            grads.register::<Flex>(parent.id, put_back(&grad, kernel_size, pad));
        }
    }
}

impl<C: CheckpointStrategy> WindowOps for Autodiff<Flex, C> {
    fn causal_windows(x: FloatTensor<Self>, kernel_size: usize, pad: usize) -> FloatTensor<Self> {
        let windows = cut(x.primitive(), kernel_size, pad);
        match CausalWindowsBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(Window { kernel_size, pad }, windows),
            OpsKind::UnTracked(prep) => prep.finish(windows),
        }
    }
}

/// The forward copy: [L, B, C] -> [L, B, k * C], one window row (k * C values) at a time.
fn cut(x: &FlexTensor, kernel_size: usize, pad: usize) -> FlexTensor {
    assert_eq!(x.dtype(), DType::F32, "the fused ops run in float32");
    let x = x.to_contiguous();
    let input: &[f32] = x.as_slice().expect("a contiguous tensor has a slice");
    let [length, batch, channels] = dims3(x.layout().shape());
    let row = kernel_size * channels;
    let mut output = FlexTensor::empty(Shape::new([length, batch, row]), DType::F32);
    let out: &mut [f32] = output.storage_mut();
    // Row (i, b) holds x[i + j - pad, b, :] at columns j * C..(j + 1) * C.
    let fill = |(index, window): (usize, &mut [f32])| {
        let (i, b) = (index / batch, index % batch);
        for (j, tap) in window.chunks_exact_mut(channels).enumerate() {
            match (i + j).checked_sub(pad) {
                Some(t) => {
                    let start = (t * batch + b) * channels;
                    tap.copy_from_slice(&input[start..start + channels]);
                }
                None => tap.fill(0.0),
            }
        }
    };
    if out.len() < PARALLEL_ELEMENTS {
        out.chunks_exact_mut(row).enumerate().for_each(fill);
    } else {
        out.par_chunks_exact_mut(row).enumerate().for_each(fill);
    }
    output
}

/// The backward sum: [L, B, k * C] -> [L, B, C], dx[t, b, c] = sum over j of
/// dwindows[t + pad - j, b, j * C + c], over the windows that contain position t.
///
/// The terms are added in the order autodiff adds the k slices' gradients in
/// [`causal_windows_composed`], the last offset first, so both give the same bits.
fn put_back(grad: &FlexTensor, kernel_size: usize, pad: usize) -> FlexTensor {
    assert_eq!(grad.dtype(), DType::F32, "the fused ops run in float32");
    let grad = grad.to_contiguous();
    let windows: &[f32] = grad.as_slice().expect("a contiguous tensor has a slice");
    let [length, batch, row] = dims3(grad.layout().shape());
    let channels = row / kernel_size;
    let mut output = FlexTensor::empty(Shape::new([length, batch, channels]), DType::F32);
    let out: &mut [f32] = output.storage_mut();
    let gather = |(index, dx): (usize, &mut [f32])| {
        let (t, b) = (index / batch, index % batch);
        let mut first = true;
        for j in (0..kernel_size).rev() {
            // Window i = t + pad - j holds position t at offset j, if it exists.
            let Some(i) = (t + pad).checked_sub(j).filter(|&i| i < length) else {
                continue;
            };
            let start = (i * batch + b) * row + j * channels;
            let tap = &windows[start..start + channels];
            if first {
                dx.copy_from_slice(tap);
                first = false;
            } else {
                for (d, &g) in dx.iter_mut().zip(tap) {
                    *d += g;
                }
            }
        }
        if first {
            dx.fill(0.0);
        }
    };
    if windows.len() < PARALLEL_ELEMENTS {
        out.chunks_exact_mut(channels).enumerate().for_each(gather);
    } else {
        out.par_chunks_exact_mut(channels)
            .enumerate()
            .for_each(gather);
    }
    output
}

/// The three sizes of a rank-3 shape.
fn dims3(shape: &Shape) -> [usize; 3] {
    assert_eq!(shape.num_dims(), 3, "the windows are cut from [L, B, C]");
    [shape[0], shape[1], shape[2]]
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, TensorData};

    use super::*;
    use crate::data::to_host;
    use crate::fused::tests::bits;

    /// (L, B, C, k, pad): odd sizes, batch 1, C = 1, both window types, a kernel longer than
    /// the sequence, and a case above the parallel threshold.
    const CASES: [(usize, usize, usize, usize, usize); 6] = [
        (5, 3, 2, 3, 2),
        (5, 3, 2, 3, 3),
        (1, 1, 1, 1, 0),
        (4, 2, 3, 7, 7),
        (9, 1, 1, 4, 3),
        (64, 64, 70, 7, 6),
    ];

    fn input(shape: [usize; 3], device: &burn::tensor::Device) -> Tensor<3> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    #[test]
    fn the_windows_are_the_composed_windows_bit_for_bit() {
        let device = burn::tensor::Device::flex();
        for (l, b, c, k, pad) in CASES {
            let x = input([l, b, c], &device);
            let fused = bits(causal_windows(x.clone(), k, pad));
            let composed = bits(causal_windows_composed(x, k, pad));
            assert_eq!(fused, composed, "L {l}, B {b}, C {c}, k {k}, pad {pad}");
        }
    }

    #[test]
    fn the_gradient_is_the_composed_gradient_bit_for_bit() {
        let device = burn::tensor::Device::flex().autodiff();
        for (l, b, c, k, pad) in CASES {
            let data = input([l, b, c], &device).into_data();
            let weights: TensorData = input([l, b, k * c], &device).into_data();
            let gradient = |f: fn(Tensor<3>, usize, usize) -> Tensor<3>| {
                let x = Tensor::<3>::from_data(data.clone(), &device).require_grad();
                let w = Tensor::<3>::from_data(weights.clone(), &device);
                let grads = (f(x.clone(), k, pad) * w).sum().backward();
                bits(x.grad(&grads).expect("x has a gradient"))
            };
            assert_eq!(
                gradient(causal_windows),
                gradient(causal_windows_composed),
                "L {l}, B {b}, C {c}, k {k}, pad {pad}"
            );
        }
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        let device = burn::tensor::Device::flex().autodiff();
        let (l, b, c, k, pad) = (4, 2, 3, 3, 3);
        let x = input([l, b, c], &device).require_grad();
        let w = input([l, b, k * c], &device);
        let grads = (causal_windows(x.clone(), k, pad) * w.clone())
            .sum()
            .backward();
        let gradient = to_host(x.grad(&grads).expect("x has a gradient"));
        // (f(x + h e_n) - f(x - h e_n)) / 2h for f(x) = sum(w * windows(x)), one n at a time.
        let (x, h) = (to_host(x), 1e-2f32);
        let f = |values: &[f32]| {
            let x = Tensor::<1>::from_floats(values, &device).reshape([l, b, c]);
            to_host((causal_windows(x, k, pad) * w.clone()).sum())[0]
        };
        for (n, &g) in gradient.iter().enumerate() {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[n] += h;
            down[n] -= h;
            let finite = (f(&up) - f(&down)) / (2.0 * h);
            assert!((g - finite).abs() < 1e-2, "element {n}: {g} vs {finite}");
        }
    }

    #[test]
    fn window_i_of_type_a_ends_before_position_i() {
        let device = burn::tensor::Device::flex();
        // x[t] = t + 1 over 4 positions, one sequence, one channel; k = 2, pad = 2.
        let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 4.0], &device).reshape([4, 1, 1]);
        let windows = to_host(causal_windows(x, 2, 2));
        assert_eq!(windows, [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0]);
    }
}
