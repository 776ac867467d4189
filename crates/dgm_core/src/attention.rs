//! Causal multi-head self-attention, the layer of the decoder transformers (chapter 2's SMILES
//! model, the teeny GPT). The arithmetic between its two projections is
//! [`crate::fused::causal_attention`]: one fused op for training, and the same as tensor ops,
//! with the weights to draw, for the pictures.
//!
//! Every position t mixes the values of positions 0..=t with weights
//! softmax_s(q_t . k_s / sqrt(E)), E the width of a head, that are zero for s > t: a position
//! never sees the future, which is what makes the model autoregressive.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use crate::fused::{causal_attention, causal_attention_composed, linear_layer};

// ANCHOR: attention
/// H heads of width E over sequences of width D. With E = D / H these are the parameters of
/// PyTorch's `nn.MultiheadAttention` (an input projection D -> 3D and an output projection
/// D -> D); Tomczak's hand-written layer gives every head the whole width, E = D.
#[derive(Module, Debug)]
pub struct CausalSelfAttention {
    /// x -> (q, k, v): [.., D] -> [.., 3HE]
    qkv: Linear,
    /// the heads' mixed values back to the model width: [.., HE] -> [.., D]
    out: Linear,
    #[module(skip)]
    heads: usize,
    #[module(skip)]
    head_width: usize,
}

/// What one attention layer gives.
pub struct Attended {
    /// The mixed values through the output projection: [batch, T, D]
    pub output: Tensor<3>,
    /// The attention weights of every head: [batch, H, T, T], rows summing to 1, zero above the
    /// diagonal.
    pub weights: Tensor<4>,
}

impl CausalSelfAttention {
    /// `heads` heads of width `head_width` over sequences of width `width`.
    pub fn new(
        width: usize,
        heads: usize,
        head_width: usize,
        device: &Device,
    ) -> CausalSelfAttention {
        CausalSelfAttention {
            qkv: LinearConfig::new(width, 3 * heads * head_width).init(device),
            out: LinearConfig::new(heads * head_width, width).init(device),
            heads,
            head_width,
        }
    }

    /// Mixes every position with its past: [batch, T, D] -> [batch, T, D].
    ///
    /// The heads' queries, keys and values are read from the projection and their mixed values
    /// written next to each other, [batch, T, HE], by [`causal_attention`] (one fused op on
    /// burn-flex, the tensor ops of [`causal_attention_composed`] elsewhere).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let qkv = linear_layer(&self.qkv, x);
        linear_layer(
            &self.out,
            causal_attention(qkv, self.heads, self.head_width),
        )
    }

    /// [`Self::forward`] with the attention weights, through the tensor ops (for the pictures).
    pub fn forward_with_weights(&self, x: Tensor<3>) -> Attended {
        let qkv = linear_layer(&self.qkv, x);
        let (mixed, weights) = causal_attention_composed(qkv, self.heads, self.head_width);
        Attended {
            output: linear_layer(&self.out, mixed),
            weights,
        }
    }
}
// ANCHOR_END: attention

/// Every row of attention weights (rows of `length` weights, one per query) sums to one and
/// gives no weight to the keys after its query.
#[cfg(test)]
pub(crate) fn assert_causal_rows(weights: &[f32], length: usize) {
    for (i, row) in weights.chunks(length).enumerate() {
        let t = i % length;
        let total: f32 = row.iter().sum();
        assert!((total - 1.0).abs() < 1e-5, "row {t} sums to {total}");
        assert!(
            row[t + 1..].iter().all(|&w| w == 0.0),
            "row {t} looks ahead"
        );
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;
    use crate::data::to_host;

    #[test]
    fn the_parameters_are_those_of_pytorch_multihead_attention() {
        let device = Device::flex();
        // in_proj 3D^2 + 3D, out_proj D^2 + D
        let d = 32;
        let attention = CausalSelfAttention::new(d, 8, d / 8, &device);
        assert_eq!(attention.num_params(), 4 * d * d + 4 * d);
    }

    #[test]
    fn whole_width_heads_have_the_parameters_of_tomczaks_layer() {
        // Tomczak's SMILES transformer: K, Q, V 64 -> 4 x 64 and the output 4 x 64 -> 64.
        let attention = CausalSelfAttention::new(64, 4, 64, &Device::flex());
        assert_eq!(attention.num_params(), 3 * (64 * 256 + 256) + 256 * 64 + 64);
    }

    #[test]
    fn weights_sum_to_one_and_never_look_ahead() {
        let device = Device::flex();
        let attention = CausalSelfAttention::new(16, 4, 4, &device);
        let x = Tensor::<3>::random([2, 7, 16], Distribution::Normal(0.0, 1.0), &device);
        assert_causal_rows(&to_host(attention.forward_with_weights(x).weights), 7);
    }

    #[test]
    fn the_fused_layer_equals_the_layer_of_tensor_ops() {
        let device = Device::flex();
        let attention = CausalSelfAttention::new(16, 4, 4, &device);
        let x = Tensor::<3>::random([3, 8, 16], Distribution::Normal(0.0, 1.0), &device);
        let fused = to_host(attention.forward(x.clone()));
        let composed = to_host(attention.forward_with_weights(x).output);
        for (a, b) in fused.iter().zip(&composed) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn changing_the_future_leaves_the_past_unchanged() {
        let device = Device::flex();
        let attention = CausalSelfAttention::new(16, 4, 4, &device);
        let x = Tensor::<3>::random([2, 9, 16], Distribution::Normal(0.0, 1.0), &device);
        let before = to_host(attention.forward(x.clone()));
        for t in [0usize, 4, 8] {
            // Positions after t replaced by other numbers.
            let changed = if t + 1 < 9 {
                x.clone().slice_assign(
                    [0..2, t + 1..9, 0..16],
                    Tensor::random([2, 8 - t, 16], Distribution::Normal(3.0, 1.0), &device),
                )
            } else {
                x.clone()
            };
            let after = to_host(attention.forward(changed));
            for b in 0..2 {
                let past = |v: &[f32]| v[b * 9 * 16..(b * 9 + t + 1) * 16].to_vec();
                assert_eq!(past(&before), past(&after), "batch {b}, t = {t}");
            }
        }
    }
}
