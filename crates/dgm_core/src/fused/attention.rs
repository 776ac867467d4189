//! Causal self-attention as one op: the heads' queries, keys and values read in place from the
//! input projection's output, and the gradient written straight back into its layout.
//!
//! As tensor ops ([`causal_attention_composed`]) attention is a reshape and a permutation of
//! the projection (a copy), three slices, a transposed copy of the keys, a batched product, a
//! mask, a softmax of five ops, a second product and a permutation back (another copy); under
//! autodiff each has its backward, several with copies of their own. Here, for every sequence
//! b and head h, with Q, K, V the [T, E] blocks of the projection (rows 3HE apart):
//!
//! forward:  S = Q K^T / sqrt(E),  P = softmax over s <= t of S[t, s] (0 for s > t),  O = P V
//! backward: dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(P * dP)),
//!           dQ = dS K / sqrt(E),  dK = dS^T Q / sqrt(E)
//!
//! four matrix products and a row pass each way, with P kept from the forward pass for the
//! backward one. The products sum in another order than burn's batched ones, so the two agree
//! to rounding, not to the bit.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, DType, Shape, Tensor};
use rayon::prelude::*;

use super::matrix::{Matrix, scaled_product};
use super::on_flex;

/// Multiply-accumulates of a call from which the sequences are split across the threads.
const PARALLEL_WORK: usize = 1 << 18;

/// The heads' mixed values of causal self-attention over an input projection.
///
/// `qkv[b, t]` holds the query, key and value of position t of sequence b for every head, as
/// [3, H, E] (the output of one linear layer D -> 3HE); the result holds every head's mixed
/// value, as [H, E]. On burn-flex one fused op each way; elsewhere the tensor ops of
/// [`causal_attention_composed`].
///
/// # Shapes
/// - qkv: [batch, T, 3HE]
/// - returns: [batch, T, HE]
pub fn causal_attention(qkv: Tensor<3>, heads: usize, head_width: usize) -> Tensor<3> {
    if on_flex(&qkv.device()) {
        Tensor::from_dispatch(<Dispatch as AttentionOps>::causal_attention(
            qkv.into_dispatch(),
            heads,
            head_width,
        ))
    } else {
        causal_attention_composed(qkv, heads, head_width).0
    }
}

// ANCHOR: composed
/// [`causal_attention`] as tensor ops, with the attention weights of every head.
///
/// # Shapes
/// - qkv: [batch, T, 3HE]
/// - returns: [batch, T, HE] and the weights [batch, H, T, T], rows summing to 1, zero above
///   the diagonal
pub fn causal_attention_composed(
    qkv: Tensor<3>,
    heads: usize,
    head_width: usize,
) -> (Tensor<3>, Tensor<4>) {
    let [batch, t, _] = qkv.dims();
    let (h, e) = (heads, head_width);
    // [batch, T, 3HE] -> [batch, T, 3, H, E] -> [3, batch, H, T, E]
    let qkv = qkv.reshape([batch, t, 3, h, e]).permute([2, 0, 3, 1, 4]);
    let part = |i: usize| {
        qkv.clone()
            .slice([i..i + 1, 0..batch, 0..h, 0..t, 0..e])
            .reshape([batch, h, t, e])
    };
    let (q, k, v) = (part(0), part(1), part(2));
    // scores_ts = q_t . k_s / sqrt(E): [batch, H, T, T]
    let scores = q.matmul(k.swap_dims(2, 3)) / (e as f64).sqrt();
    // s > t is the future: -inf before the softmax, so its weight is exactly 0.
    let future = Tensor::<2, Bool>::tril_mask([t, t], 0, &scores.device())
        .reshape([1, 1, t, t])
        .expand([batch, h, t, t]);
    let weights = softmax(scores.mask_fill(future, f64::NEG_INFINITY), 3);
    // [batch, H, T, E] -> [batch, T, H, E] -> [batch, T, HE]
    let mixed = weights
        .clone()
        .matmul(v)
        .swap_dims(1, 2)
        .reshape([batch, t, h * e]);
    (mixed, weights)
}
// ANCHOR_END: composed

/// The attention op, implemented for burn-flex and for autodiff over burn-flex.
#[backend_extension(Flex, Autodiff)]
pub trait AttentionOps: Backend {
    /// [`causal_attention`].
    fn causal_attention(
        qkv: FloatTensor<Self>,
        heads: usize,
        head_width: usize,
    ) -> FloatTensor<Self>;
}

impl AttentionOps for Flex {
    fn causal_attention(qkv: FlexTensor, heads: usize, head_width: usize) -> FlexTensor {
        attend(&qkv, Heads::of(&qkv, heads, head_width)).0
    }
}

/// The sizes of one call: sequences, positions, heads and the width of a head.
#[derive(Clone, Copy, Debug)]
struct Heads {
    batch: usize,
    length: usize,
    heads: usize,
    width: usize,
}

impl Heads {
    /// The sizes of a projection `qkv` [batch, T, 3HE] of `heads` heads of width `width`.
    fn of(qkv: &FlexTensor, heads: usize, width: usize) -> Heads {
        assert_eq!(qkv.dtype(), DType::F32, "the fused ops run in float32");
        let shape = qkv.layout().shape();
        assert_eq!(shape.num_dims(), 3, "attention takes [batch, T, 3HE]");
        assert_eq!(
            shape[2],
            3 * heads * width,
            "attention: the projection is not 3 x heads x width wide"
        );
        Heads {
            batch: shape[0],
            length: shape[1],
            heads,
            width,
        }
    }

    /// HE, the width of the mixed values of one position.
    fn mixed(&self) -> usize {
        self.heads * self.width
    }

    /// 1 / sqrt(E).
    fn scale(&self) -> f32 {
        1.0 / (self.width as f32).sqrt()
    }

    /// Whether the sequences are split across the threads.
    fn parallel(&self) -> bool {
        self.batch * self.heads * self.length * self.length * self.width >= PARALLEL_WORK
    }
}

/// What the backward step keeps: the projection, the weights P [batch, H, T, T] and the sizes.
#[derive(Clone, Debug)]
struct Saved {
    qkv: FlexTensor,
    weights: FlexTensor,
    heads: Heads,
}

/// The backward step: the projection's gradient from the mixed values' gradient.
#[derive(Debug)]
struct CausalAttentionBackward;

impl Backward<Flex, 1> for CausalAttentionBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(parent) = parent {
            let Saved {
                qkv,
                weights,
                heads,
            } = ops.state;
            grads.register::<Flex>(parent.id, attend_backward(&qkv, &weights, &grad, heads));
        }
    }
}

impl<C: CheckpointStrategy> AttentionOps for Autodiff<Flex, C> {
    fn causal_attention(
        qkv: FloatTensor<Self>,
        heads: usize,
        head_width: usize,
    ) -> FloatTensor<Self> {
        let input = qkv.primitive().to_contiguous();
        let sizes = Heads::of(&input, heads, head_width);
        let (mixed, weights) = attend(&input, sizes);
        match CausalAttentionBackward
            .prepare::<C>([qkv.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(
                Saved {
                    qkv: input,
                    weights,
                    heads: sizes,
                },
                mixed,
            ),
            OpsKind::UnTracked(prep) => prep.finish(mixed),
        }
    }
}

/// Q, K or V of head h in the projection of one sequence ([T, 3HE], row-major): a [T, E]
/// matrix with rows 3HE apart, starting at column (part H + h) E.
fn block(qkv: &[f32], part: usize, h: usize, sizes: Heads) -> Matrix<'_> {
    let start = (part * sizes.heads + h) * sizes.width;
    Matrix {
        data: &qkv[start..],
        row_stride: 3 * sizes.mixed(),
        col_stride: 1,
    }
}

/// The transpose of [`block`]: K^T or Q^T, [E, T].
fn block_transposed(qkv: &[f32], part: usize, h: usize, sizes: Heads) -> Matrix<'_> {
    let m = block(qkv, part, h, sizes);
    Matrix {
        data: m.data,
        row_stride: m.col_stride,
        col_stride: m.row_stride,
    }
}

/// The forward pass: the mixed values [batch, T, HE] and the weights [batch, H, T, T].
fn attend(qkv: &FlexTensor, sizes: Heads) -> (FlexTensor, FlexTensor) {
    let qkv = qkv.to_contiguous();
    let qkv: &[f32] = qkv.as_slice().expect("a contiguous tensor has a slice");
    let Heads {
        batch,
        length: t,
        heads,
        width: e,
    } = sizes;
    let he = sizes.mixed();
    let mut mixed = FlexTensor::empty(Shape::new([batch, t, he]), DType::F32);
    let mut weights = FlexTensor::empty(Shape::new([batch, heads, t, t]), DType::F32);
    let none = gemm::Parallelism::None;
    let sequence = |(qkv, (out, p)): (&[f32], (&mut [f32], &mut [f32]))| {
        for (h, p) in p.chunks_exact_mut(t * t).enumerate() {
            let (q, k_t) = (block(qkv, 0, h, sizes), block_transposed(qkv, 1, h, sizes));
            // S = Q K^T / sqrt(E): [T, T]
            scaled_product(p, t, [t, t, e], q, k_t, sizes.scale(), false, none);
            causal_softmax(p, t);
            // O = P V: [T, E] into columns hE..(h + 1)E of the mixed values
            let v = block(qkv, 2, h, sizes);
            let out = &mut out[h * e..];
            scaled_product(out, he, [t, e, t], Matrix::rows(p, t), v, 1.0, false, none);
        }
    };
    let (width, square) = (t * 3 * he, heads * t * t);
    let (out, p) = (mixed.storage_mut::<f32>(), weights.storage_mut::<f32>());
    if sizes.parallel() {
        let inputs = qkv.par_chunks_exact(width);
        let outputs = out
            .par_chunks_exact_mut(t * he)
            .zip(p.par_chunks_exact_mut(square));
        inputs.zip(outputs).for_each(sequence);
    } else {
        let inputs = qkv.chunks_exact(width);
        let outputs = out.chunks_exact_mut(t * he).zip(p.chunks_exact_mut(square));
        inputs.zip(outputs).for_each(sequence);
    }
    (mixed, weights)
}

/// Every row t of the [T, T] scores `s`, in place: softmax over s <= t, 0 after.
///
/// P[t, s] = exp(S[t, s] - m_t) / sum_{s' <= t} exp(S[t, s'] - m_t),  m_t = max_{s <= t} S[t, s]
fn causal_softmax(s: &mut [f32], t: usize) {
    for (i, row) in s.chunks_exact_mut(t).enumerate() {
        let (past, future) = row.split_at_mut(i + 1);
        let m = past.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        for x in past.iter_mut() {
            *x = (*x - m).exp();
            total += *x;
        }
        for x in past.iter_mut() {
            *x /= total;
        }
        future.fill(0.0);
    }
}

/// What the backward pass reads of one sequence: its projection [T, 3HE], its weights
/// [H, T, T] and the gradient of its mixed values [T, HE].
type Sequence<'a> = (&'a [f32], &'a [f32], &'a [f32]);

/// The backward pass: the projection's gradient [batch, T, 3HE] from the mixed values'
/// gradient `grad` [batch, T, HE].
fn attend_backward(
    qkv: &FlexTensor,
    weights: &FlexTensor,
    grad: &FlexTensor,
    sizes: Heads,
) -> FlexTensor {
    let grad = grad.to_contiguous();
    let d_out: &[f32] = grad.as_slice().expect("a contiguous tensor has a slice");
    let qkv: &[f32] = qkv.as_slice().expect("the saved projection is contiguous");
    let weights: &[f32] = weights
        .as_slice()
        .expect("the saved weights are contiguous");
    let Heads {
        batch,
        length: t,
        heads,
        width: e,
    } = sizes;
    let he = sizes.mixed();
    let mut d_qkv = FlexTensor::empty(Shape::new([batch, t, 3 * he]), DType::F32);
    let none = gemm::Parallelism::None;
    let scale = sizes.scale();
    let sequence = |((qkv, p, d_out), d_qkv): (Sequence, &mut [f32])| {
        // dP, then dS in place: [T, T]
        let mut d_s = vec![0.0f32; t * t];
        for (h, p) in p.chunks_exact(t * t).enumerate() {
            let d_o = Matrix {
                data: &d_out[h * e..],
                row_stride: he,
                col_stride: 1,
            };
            // dV = P^T dO: [T, E]
            let d_v = &mut d_qkv[(2 * heads + h) * e..];
            scaled_product(
                d_v,
                3 * he,
                [t, e, t],
                Matrix::transposed(p, t),
                d_o,
                1.0,
                false,
                none,
            );
            // dP = dO V^T: [T, T]
            let v_t = block_transposed(qkv, 2, h, sizes);
            scaled_product(&mut d_s, t, [t, t, e], d_o, v_t, 1.0, false, none);
            softmax_backward(&mut d_s, p, t);
            let d_s_rows = Matrix::rows(&d_s, t);
            // dQ = dS K / sqrt(E): [T, E]
            let (k, q) = (block(qkv, 1, h, sizes), block(qkv, 0, h, sizes));
            let d_q = &mut d_qkv[h * e..];
            scaled_product(d_q, 3 * he, [t, e, t], d_s_rows, k, scale, false, none);
            // dK = dS^T Q / sqrt(E): [T, E]
            let d_k = &mut d_qkv[(heads + h) * e..];
            let d_s_t = Matrix::transposed(&d_s, t);
            scaled_product(d_k, 3 * he, [t, e, t], d_s_t, q, scale, false, none);
        }
    };
    let (width, square) = (t * 3 * he, heads * t * t);
    if sizes.parallel() {
        let inputs = qkv.par_chunks_exact(width);
        let inputs = inputs.zip(weights.par_chunks_exact(square));
        let inputs = inputs.zip(d_out.par_chunks_exact(t * he));
        let inputs = inputs.map(|((qkv, p), d_out)| (qkv, p, d_out));
        let outputs = d_qkv.storage_mut::<f32>().par_chunks_exact_mut(width);
        inputs.zip(outputs).for_each(sequence);
    } else {
        let inputs = qkv.chunks_exact(width).zip(weights.chunks_exact(square));
        let inputs = inputs.zip(d_out.chunks_exact(t * he));
        let inputs = inputs.map(|((qkv, p), d_out)| (qkv, p, d_out));
        let outputs = d_qkv.storage_mut::<f32>().chunks_exact_mut(width);
        inputs.zip(outputs).for_each(sequence);
    }
    d_qkv
}

/// dS from dP (`d`, in place) and P for every row of a [T, T] block:
///
/// dS[t, s] = P[t, s] (dP[t, s] - sum_{s'} P[t, s'] dP[t, s'])
///
/// which is 0 for s > t, where P is.
fn softmax_backward(d: &mut [f32], p: &[f32], t: usize) {
    for (d, p) in d.chunks_exact_mut(t).zip(p.chunks_exact(t)) {
        let inner: f32 = d.iter().zip(p).map(|(d, p)| d * p).sum();
        for (d, &p) in d.iter_mut().zip(p) {
            *d = p * (*d - inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, TensorData};

    use super::*;
    use crate::attention::assert_causal_rows;
    use crate::data::to_host;
    use crate::fused::tests::{assert_close, on_threads};

    /// A projection [batch, T, 3HE] of deterministic values in about [-1.5, 1.5].
    fn projection(batch: usize, t: usize, he: usize, device: &burn::tensor::Device) -> Tensor<3> {
        let n = batch * t * 3 * he;
        Tensor::<1, burn::tensor::Int>::arange(0..n as i64, device)
            .float()
            .mul_scalar(0.37)
            .cos()
            .mul_scalar(1.5)
            .reshape([batch, t, 3 * he])
    }

    /// Sequences of one position, odd lengths, one head and heads of odd width, one sequence
    /// and many: on both sides of the parallel threshold.
    const SHAPES: [(usize, usize, usize, usize); 5] = [
        (1, 1, 1, 1),
        (2, 7, 3, 5),
        (1, 9, 2, 4),
        (3, 1, 2, 3),
        (16, 33, 4, 16),
    ];

    #[test]
    fn the_fused_attention_equals_the_composed_one() {
        let device = burn::tensor::Device::flex();
        for (batch, t, heads, e) in SHAPES {
            let qkv = projection(batch, t, heads * e, &device);
            let fused = to_host(causal_attention(qkv.clone(), heads, e));
            let composed = to_host(causal_attention_composed(qkv, heads, e).0);
            assert_close(&fused, &composed, 1e-5, &format!("{batch}x{t}x{heads}x{e}"));
        }
    }

    #[test]
    fn the_fused_weights_are_causal_rows() {
        let device = burn::tensor::Device::flex();
        let flex = projection(2, 7, 6, &device)
            .try_into_primitive::<Flex>()
            .expect("a flex tensor");
        let (_, weights) = attend(&flex, Heads::of(&flex, 2, 3));
        let weights: &[f32] = weights.as_slice().expect("contiguous");
        assert_causal_rows(weights, 7);
    }

    #[test]
    fn the_fused_gradient_equals_autodiffs_of_the_composed_one() {
        let device = burn::tensor::Device::flex().autodiff();
        for (batch, t, heads, e) in SHAPES {
            let qkv = projection(batch, t, heads * e, &device);
            // A weighted sum, so that every output has its own gradient.
            let weights = projection(batch, t, heads * e, &device)
                .slice([0..batch, 0..t, 0..heads * e])
                .flip([1]);
            let gradient = |fused: bool| {
                let qkv = qkv.clone().require_grad();
                let mixed = if fused {
                    causal_attention(qkv.clone(), heads, e)
                } else {
                    causal_attention_composed(qkv.clone(), heads, e).0
                };
                let grads = (mixed * weights.clone()).sum().backward();
                to_host(qkv.grad(&grads).expect("qkv has a gradient"))
            };
            let what = format!("{batch}x{t}x{heads}x{e}");
            assert_close(&gradient(true), &gradient(false), 1e-4, &what);
        }
    }

    #[test]
    fn the_fused_gradient_matches_finite_differences() {
        let device = burn::tensor::Device::flex().autodiff();
        let (batch, t, heads, e) = (2, 5, 2, 3);
        let he = heads * e;
        let values = to_host(projection(batch, t, he, &device));
        let weights = Tensor::<3>::random([batch, t, he], Distribution::Normal(0.0, 1.0), &device);
        let loss = |values: &[f32]| {
            let qkv = Tensor::<3>::from_data(
                TensorData::new(values.to_vec(), [batch, t, 3 * he]),
                &device,
            );
            (causal_attention(qkv, heads, e) * weights.clone()).sum()
        };
        let qkv =
            Tensor::<3>::from_data(TensorData::new(values.clone(), [batch, t, 3 * he]), &device)
                .require_grad();
        let grads = (causal_attention(qkv.clone(), heads, e) * weights.clone())
            .sum()
            .backward();
        let gradient = to_host(qkv.grad(&grads).expect("qkv has a gradient"));
        let h = 1e-2f32;
        for i in (0..values.len()).step_by(7) {
            let at = |delta: f32| {
                let mut v = values.clone();
                v[i] += delta;
                loss(&v).into_scalar::<f32>() as f64
            };
            let finite = (at(h) - at(-h)) / (2.0 * h as f64);
            assert!(
                (gradient[i] as f64 - finite).abs() < 2e-3 * (1.0 + finite.abs()),
                "d/dqkv[{i}]: {} vs {finite}",
                gradient[i]
            );
        }
    }

    #[test]
    fn the_gradient_does_not_depend_on_the_thread_count() {
        let (batch, t, heads, e) = (16, 33, 4, 16);
        let gradient = |threads: usize| {
            on_threads(threads, || {
                let device = burn::tensor::Device::flex().autodiff();
                let qkv = projection(batch, t, heads * e, &device).require_grad();
                let grads = causal_attention(qkv.clone(), heads, e)
                    .powi_scalar(2)
                    .sum()
                    .backward();
                to_host(qkv.grad(&grads).expect("qkv has a gradient"))
            })
        };
        let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
        assert_eq!(bits(gradient(1)), bits(gradient(2)));
    }
}
