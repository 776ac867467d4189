//! Causal multi-head self-attention, the layer of the decoder transformers (chapter 2's SMILES
//! model, the teeny GPT), written out so that the attention weights can be read and drawn.
//!
//! Every position t mixes the values of positions 0..=t with weights
//! softmax_s(q_t . k_s / sqrt(E)), E the width of a head, that are zero for s > t: a position
//! never sees the future, which is what makes the model autoregressive.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

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

    /// Mixes every position with its past.
    ///
    /// # Shapes
    /// - x: [batch, T, D]
    pub fn forward(&self, x: Tensor<3>) -> Attended {
        let [batch, t, _] = x.dims();
        let (h, d_head) = (self.heads, self.head_width);
        // [batch, T, 3HE] -> [batch, T, 3, H, E] -> [3, batch, H, T, E]
        let qkv = self
            .qkv
            .forward(x)
            .reshape([batch, t, 3, h, d_head])
            .permute([2, 0, 3, 1, 4]);
        let part = |i: usize| {
            qkv.clone()
                .slice([i..i + 1, 0..batch, 0..h, 0..t, 0..d_head])
                .reshape([batch, h, t, d_head])
        };
        let (q, k, v) = (part(0), part(1), part(2));
        // scores_ts = q_t . k_s / sqrt(E): [batch, H, T, T]
        let scores = q.matmul(k.swap_dims(2, 3)) / (d_head as f64).sqrt();
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
            .reshape([batch, t, h * d_head]);
        Attended {
            output: self.out.forward(mixed),
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
        assert_causal_rows(&to_host(attention.forward(x).weights), 7);
    }

    #[test]
    fn changing_the_future_leaves_the_past_unchanged() {
        let device = Device::flex();
        let attention = CausalSelfAttention::new(16, 4, 4, &device);
        let x = Tensor::<3>::random([2, 9, 16], Distribution::Normal(0.0, 1.0), &device);
        let before = to_host(attention.forward(x.clone()).output);
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
            let after = to_host(attention.forward(changed).output);
            for b in 0..2 {
                let past = |v: &[f32]| v[b * 9 * 16..(b * 9 + t + 1) * 16].to_vec();
                assert_eq!(past(&before), past(&after), "batch {b}, t = {t}");
            }
        }
    }
}
