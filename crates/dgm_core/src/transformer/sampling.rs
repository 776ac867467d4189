//! Drawing from the decoder: one token at a time from the last position's distribution, with a
//! temperature and a top-k cut.

use burn::prelude::*;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::decoder::DecoderTransformer;
use crate::data::to_host;

// ANCHOR: sampling
/// How to draw the next token from the model's log-probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Divides the logits: below 1 sharpens the distribution, above 1 flattens it.
    pub temperature: f64,
    /// Keep only the k most probable tokens (all of them when `None`).
    pub top_k: Option<usize>,
}

/// One token drawn from softmax(log_probs / temperature), restricted to the top k.
pub fn draw_token(log_probs: &[f32], sampling: Sampling, rng: &mut impl Rng) -> usize {
    let mut order: Vec<usize> = (0..log_probs.len()).collect();
    order.sort_by(|&a, &b| log_probs[b].total_cmp(&log_probs[a]));
    let kept = &order[..sampling.top_k.unwrap_or(order.len()).clamp(1, order.len())];
    // p_v ∝ exp((l_v - l_max) / temperature) over the kept tokens
    let top = log_probs[kept[0]] as f64;
    let weights: Vec<f64> = kept
        .iter()
        .map(|&v| ((log_probs[v] as f64 - top) / sampling.temperature).exp())
        .collect();
    let mut u = rng.random::<f64>() * weights.iter().sum::<f64>();
    for (&v, w) in kept.iter().zip(&weights) {
        if u < *w {
            return v;
        }
        u -= w;
    }
    kept[kept.len() - 1]
}

/// Where generated sequences start and stop, and how their tokens are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Generation {
    /// The first token of every sequence.
    pub start: u32,
    /// A sequence stops growing after this token, if any.
    pub end: Option<u32>,
    /// ... or at this many tokens, the start included.
    pub length: usize,
    pub sampling: Sampling,
}

/// `n` sequences grown one token at a time from the start token: at each step the network reads
/// the whole prefix and the next token is drawn from its last position. A sequence stops growing
/// at the end token (kept as its last token) or at the length.
pub fn generate(
    model: &DecoderTransformer,
    n: usize,
    how: &Generation,
    rng: &mut impl Rng,
    device: &Device,
) -> Vec<Vec<u32>> {
    let (end, sampling) = (how.end, how.sampling);
    let mut sequences = vec![vec![how.start]; n];
    for t in 1..how.length {
        let growing: Vec<usize> = (0..n)
            .filter(|&i| end.is_none_or(|e| *sequences[i].last().expect("a start token") != e))
            .collect();
        if growing.is_empty() {
            break;
        }
        // the growing prefixes, each of t tokens: [growing, t]
        let prefixes: Vec<i64> = growing
            .iter()
            .flat_map(|&i| sequences[i].iter().map(|&v| v as i64))
            .collect();
        let tokens = Tensor::from_data(TensorData::new(prefixes, [growing.len(), t]), device);
        let log_probs = model.forward(tokens);
        let vocabulary = log_probs.dims()[2];
        // the last position's distribution: [growing, t, V] -> [growing, 1, V]
        let last = to_host(log_probs.slice([0..growing.len(), t - 1..t, 0..vocabulary]));
        for (row, &i) in last.chunks(vocabulary).zip(&growing) {
            sequences[i].push(draw_token(row, sampling, rng) as u32);
        }
    }
    sequences
}
// ANCHOR_END: sampling
