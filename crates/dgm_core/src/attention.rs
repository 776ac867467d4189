//! Causal multi-head self-attention, the layer of the decoder transformers (chapter 2's SMILES
//! model, the teeny GPT), written out so that the attention weights can be read and drawn.
//!
//! Every position t mixes the values of positions 0..=t with weights
//! softmax_s(q_t . k_s / sqrt(d_head)) that are zero for s > t: a position never sees the future,
//! which is what makes the model autoregressive.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

// ANCHOR: attention
/// H heads of width D / H over sequences of width D; the parameters of PyTorch's
/// `nn.MultiheadAttention` (an input projection D -> 3D and an output projection D -> D).
#[derive(Module, Debug)]
pub struct CausalSelfAttention {
    /// x -> (q, k, v): [.., D] -> [.., 3D]
    qkv: Linear,
    out: Linear,
    #[module(skip)]
    heads: usize,
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
    pub fn new(width: usize, heads: usize, device: &Device) -> CausalSelfAttention {
        assert!(
            width.is_multiple_of(heads),
            "the width {width} must split into {heads} heads"
        );
        CausalSelfAttention {
            qkv: LinearConfig::new(width, 3 * width).init(device),
            out: LinearConfig::new(width, width).init(device),
            heads,
        }
    }

    /// # Shapes
    /// - x: [batch, T, D]
    pub fn forward(&self, x: Tensor<3>) -> Attended {
        let [batch, t, d] = x.dims();
        let (h, d_head) = (self.heads, d / self.heads);
        // [batch, T, 3D] -> [batch, T, 3, H, D/H] -> [3, batch, H, T, D/H]
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
        // scores_ts = q_t . k_s / sqrt(d_head): [batch, H, T, T]
        let scores = q.matmul(k.swap_dims(2, 3)) / (d_head as f64).sqrt();
        // s > t is the future: -inf before the softmax, so its weight is exactly 0.
        let future = Tensor::<2, Bool>::tril_mask([t, t], 0, &scores.device())
            .reshape([1, 1, t, t])
            .expand([batch, h, t, t]);
        let weights = softmax(scores.mask_fill(future, f64::NEG_INFINITY), 3);
        // [batch, H, T, D/H] -> [batch, T, H, D/H] -> [batch, T, D]
        let mixed = weights
            .clone()
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, t, d]);
        Attended {
            output: self.out.forward(mixed),
            weights,
        }
    }
}
// ANCHOR_END: attention

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
        let attention = CausalSelfAttention::new(d, 8, &device);
        assert_eq!(attention.num_params(), 4 * d * d + 4 * d);
    }

    #[test]
    fn weights_sum_to_one_and_never_look_ahead() {
        let device = Device::flex();
        let attention = CausalSelfAttention::new(16, 4, &device);
        let x = Tensor::<3>::random([2, 7, 16], Distribution::Normal(0.0, 1.0), &device);
        let weights = to_host(attention.forward(x).weights);
        for row in weights.chunks(7).enumerate().map(|(i, r)| (i % 7, r)) {
            let (t, values) = row;
            let total: f32 = values.iter().sum();
            assert!((total - 1.0).abs() < 1e-5, "row sums to {total}");
            assert!(
                values[t + 1..].iter().all(|&w| w == 0.0),
                "row {t} looks ahead"
            );
        }
    }

    #[test]
    fn changing_the_future_leaves_the_past_unchanged() {
        let device = Device::flex();
        let attention = CausalSelfAttention::new(16, 4, &device);
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
