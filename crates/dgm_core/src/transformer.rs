//! The decoder-only transformer of Tomczak's two language models (chapter 2's SMILES model and
//! the teeny GPT of chapter 12), the token sequences it learns from, and how it is scored and
//! sampled.
//!
//! The model is an autoregressive distribution over token sequences,
//! p(x_1..x_T | x_0) = prod_t p(x_t | x_0..x_{t-1}), with x_0 a start token. One pass of the
//! network gives every factor at once: position t sees the tokens 0..=t only (causal attention)
//! and predicts token t + 1.

use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::{gelu, log_softmax};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::attention::CausalSelfAttention;
use crate::data::to_host;

/// The shape of a decoder transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecoderConfig {
    /// V: distinct tokens.
    pub vocabulary: usize,
    /// Longest input the learned positional embedding covers.
    pub positions: usize,
    /// D: the width of every position's vector.
    pub width: usize,
    /// H: attention heads per block.
    pub heads: usize,
    /// E: the width of one head.
    pub head_width: usize,
    /// Transformer blocks.
    pub blocks: usize,
    /// The hidden width of each block's MLP.
    pub mlp_hidden: usize,
    /// Dropout on the embeddings' sum while training.
    pub dropout: f64,
}

// ANCHOR: block
/// One post-LayerNorm block: x <- LN(x + attention(x)); x <- LN(x + MLP(x)), the MLP
/// D -> hidden -> D with GELU.
#[derive(Module, Debug)]
pub struct Block {
    attention: CausalSelfAttention,
    attention_norm: LayerNorm,
    mlp_in: Linear,
    mlp_out: Linear,
    mlp_norm: LayerNorm,
}

impl Block {
    fn new(config: &DecoderConfig, device: &Device) -> Block {
        let (d, hidden) = (config.width, config.mlp_hidden);
        Block {
            attention: CausalSelfAttention::new(d, config.heads, config.head_width, device),
            attention_norm: LayerNormConfig::new(d).init(device),
            mlp_in: LinearConfig::new(d, hidden).init(device),
            mlp_out: LinearConfig::new(hidden, d).init(device),
            mlp_norm: LayerNormConfig::new(d).init(device),
        }
    }

    /// The block's output and its attention weights.
    ///
    /// # Shapes
    /// - x: [batch, T, D]
    /// - returns: [batch, T, D] and [batch, H, T, T]
    fn forward(&self, x: Tensor<3>) -> (Tensor<3>, Tensor<4>) {
        let attended = self.attention.forward(x.clone());
        // x = LN(x + attention(x))
        let x = self.attention_norm.forward(x + attended.output);
        // x = LN(x + W2 gelu(W1 x))
        let mlp = self.mlp_out.forward(gelu(self.mlp_in.forward(x.clone())));
        (self.mlp_norm.forward(x + mlp), attended.weights)
    }
}
// ANCHOR_END: block

// ANCHOR: decoder
/// Token and position embeddings, dropout, the blocks, and a linear read-out to the vocabulary.
#[derive(Module, Debug)]
pub struct DecoderTransformer {
    tokens: Embedding,
    positions: Embedding,
    dropout: Dropout,
    blocks: Vec<Block>,
    head: Linear,
}

impl DecoderTransformer {
    pub fn new(config: &DecoderConfig, device: &Device) -> DecoderTransformer {
        DecoderTransformer {
            tokens: EmbeddingConfig::new(config.vocabulary, config.width).init(device),
            positions: EmbeddingConfig::new(config.positions, config.width).init(device),
            dropout: DropoutConfig::new(config.dropout).init(),
            blocks: (0..config.blocks)
                .map(|_| Block::new(config, device))
                .collect(),
            head: LinearConfig::new(config.width, config.vocabulary).init(device),
        }
    }

    /// log p(x_{t+1} = v | x_0..x_t) for every position t and token v, and the attention
    /// weights of every block.
    ///
    /// # Shapes
    /// - tokens: [batch, T] with T <= positions
    /// - returns: [batch, T, V] and one [batch, H, T, T] per block
    pub fn forward_with_attention(&self, tokens: Tensor<2, Int>) -> (Tensor<3>, Vec<Tensor<4>>) {
        let [batch, t] = tokens.dims();
        let device = tokens.device();
        // [T] -> [1, T] -> [batch, T]: position t of every sequence
        let positions = Tensor::<1, Int>::arange(0..t as i64, &device)
            .reshape([1, t])
            .expand([batch, t]);
        // h_0 = dropout(token embedding + position embedding): [batch, T, D]
        let mut h = self
            .dropout
            .forward(self.tokens.forward(tokens) + self.positions.forward(positions));
        let mut weights = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let (next, block_weights) = block.forward(h);
            h = next;
            weights.push(block_weights);
        }
        (log_softmax(self.head.forward(h), 2), weights)
    }

    /// log p(x_{t+1} = v | x_0..x_t), [batch, T] -> [batch, T, V].
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.forward_with_attention(tokens).0
    }
}
// ANCHOR_END: decoder

/// Token sequences of one length L, each starting with the start token, and how many of each
/// sequence's L - 1 next-token predictions count (the rest is padding after the end).
#[derive(Clone, Debug)]
pub struct Sequences {
    /// `len() * length` token ids, row after row.
    pub tokens: Vec<u32>,
    /// L: tokens per row.
    pub length: usize,
    /// Per row, the predictions 1..=counted that are scored (all L - 1 for text without padding).
    pub counted: Vec<usize>,
}

/// A batch for teacher forcing: the inputs x_0..x_{L-2}, the targets x_1..x_{L-1}, and which
/// targets count.
pub struct TokenBatch {
    /// [batch, L - 1]
    pub inputs: Tensor<2, Int>,
    /// [batch, L - 1]
    pub targets: Tensor<2, Int>,
    /// 1 where a target counts, 0 on padding: [batch, L - 1]
    pub mask: Tensor<2>,
}

impl Sequences {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.counted.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.counted.is_empty()
    }

    /// Predictions that count, over all rows.
    pub fn counted_tokens(&self) -> usize {
        self.counted.iter().sum()
    }

    /// The rows `indices`, shifted by one into inputs and targets.
    pub fn batch(&self, indices: &[usize], device: &Device) -> TokenBatch {
        let (n, l) = (indices.len(), self.length);
        let (mut inputs, mut targets, mut mask) = (Vec::new(), Vec::new(), Vec::new());
        for &i in indices {
            let row = &self.tokens[i * l..(i + 1) * l];
            inputs.extend(row[..l - 1].iter().map(|&v| v as i64));
            targets.extend(row[1..].iter().map(|&v| v as i64));
            mask.extend((1..l).map(|t| if t <= self.counted[i] { 1.0f32 } else { 0.0 }));
        }
        TokenBatch {
            inputs: Tensor::from_data(TensorData::new(inputs, [n, l - 1]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n, l - 1]), device),
            mask: Tensor::from_data(TensorData::new(mask, [n, l - 1]), device),
        }
    }
}

// ANCHOR: nll
/// -log p(x_1..x_L | x_0) of every sequence: the counted targets' log-probabilities, summed.
///
/// # Shapes
/// - log_probs: [batch, T, V] (from [`DecoderTransformer::forward`])
/// - returns: [batch]
pub fn sequence_nll(log_probs: Tensor<3>, batch: &TokenBatch) -> Tensor<1> {
    let [n, t] = batch.targets.dims();
    // the target's log-probability at every position: [batch, T, V] -> [batch, T, 1] -> [batch, T]
    let target_log_probs = log_probs
        .gather(2, batch.targets.clone().reshape([n, t, 1]))
        .reshape([n, t]);
    // -sum_t mask_t log p(x_{t+1} | x_0..x_t)
    (target_log_probs * batch.mask.clone())
        .sum_dim(1)
        .reshape([n])
        .neg()
}
// ANCHOR_END: nll

/// How well a model predicts a set of sequences.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// Mean -log p(sequence), nats.
    pub nll_per_sequence: f64,
    /// The same total over the counted tokens, nats.
    pub nll_per_token: f64,
    /// The fraction of counted targets that are the model's most probable next token.
    pub accuracy: f64,
}

/// The exact NLL and the next-token accuracy of every sequence, in batches.
pub fn evaluate(
    model: &DecoderTransformer,
    data: &Sequences,
    batch_size: usize,
    device: &Device,
) -> Scores {
    let (mut nll, mut correct) = (0.0, 0.0);
    for indices in crate::data::batches(data.len(), batch_size) {
        let batch = data.batch(&indices, device);
        let log_probs = model.forward(batch.inputs.clone());
        // top-1 prediction == target, on counted positions: [batch, T, V] -> [batch, T, 1] -> [batch, T]
        let [n, t, _] = log_probs.dims();
        let hits = log_probs
            .clone()
            .argmax(2)
            .reshape([n, t])
            .equal(batch.targets.clone())
            .float()
            * batch.mask.clone();
        correct += to_host(hits.sum()).iter().sum::<f32>() as f64;
        nll += to_host(sequence_nll(log_probs, &batch))
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>();
    }
    Scores {
        nll_per_sequence: nll / data.len() as f64,
        nll_per_token: nll / data.counted_tokens() as f64,
        accuracy: correct / data.counted_tokens() as f64,
    }
}

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

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn tiny() -> DecoderConfig {
        DecoderConfig {
            vocabulary: 7,
            positions: 12,
            width: 8,
            heads: 2,
            head_width: 4,
            blocks: 2,
            mlp_hidden: 16,
            dropout: 0.1,
        }
    }

    fn random_tokens(n: usize, t: usize, device: &Device) -> Tensor<2, Int> {
        Tensor::<2>::random([n, t], Distribution::Uniform(0.0, 7.0), device).int()
    }

    // ANCHOR: causality
    #[test]
    fn changing_later_tokens_leaves_earlier_predictions_unchanged() {
        let device = Device::flex();
        let model = DecoderTransformer::new(&tiny(), &device);
        let tokens = random_tokens(3, 10, &device);
        let before = to_host(model.forward(tokens.clone()));
        // the predictions at positions 0..=t of sequence b, [3, 10, 7] row-major
        let upto = |v: &[f32], b: usize, t: usize| v[b * 70..(b * 10 + t + 1) * 7].to_vec();
        for t in 0..9 {
            // every token after t replaced by (token + 1) mod 7
            let later = tokens.clone().slice([0..3, t + 1..10]);
            let changed = tokens
                .clone()
                .slice_assign([0..3, t + 1..10], (later + 1).remainder_scalar(7));
            let after = to_host(model.forward(changed));
            for b in 0..3 {
                assert_eq!(
                    upto(&before, b, t),
                    upto(&after, b, t),
                    "sequence {b}, t = {t}"
                );
                // the prediction that reads the changed token does move
                assert_ne!(upto(&before, b, t + 1), upto(&after, b, t + 1));
            }
        }
    }
    // ANCHOR_END: causality

    #[test]
    fn every_block_attends_causally_with_rows_summing_to_one() {
        let device = Device::flex();
        let model = DecoderTransformer::new(&tiny(), &device);
        let (_, weights) = model.forward_with_attention(random_tokens(2, 6, &device));
        assert_eq!(weights.len(), 2);
        for block in weights {
            assert_eq!(block.dims(), [2, 2, 6, 6]);
            for (i, row) in to_host(block).chunks(6).enumerate() {
                let t = i % 6;
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                assert!(
                    row[t + 1..].iter().all(|&w| w == 0.0),
                    "row {t} looks ahead"
                );
            }
        }
    }

    #[test]
    fn log_probabilities_are_normalised() {
        let device = Device::flex();
        let model = DecoderTransformer::new(&tiny(), &device);
        let log_probs = to_host(model.forward(random_tokens(2, 5, &device)));
        for row in log_probs.chunks(7) {
            let total: f32 = row.iter().map(|v| v.exp()).sum();
            assert!((total - 1.0).abs() < 1e-5, "sums to {total}");
        }
    }

    #[test]
    fn the_nll_sums_only_the_counted_targets() {
        let device = Device::flex();
        let model = DecoderTransformer::new(&tiny(), &device);
        // two rows of 5 tokens; the second counts 2 of its 4 predictions
        let data = Sequences {
            tokens: vec![6, 1, 2, 3, 0, 6, 4, 0, 0, 0],
            length: 5,
            counted: vec![4, 2],
        };
        let batch = data.batch(&[0, 1], &device);
        let log_probs = to_host(model.forward(batch.inputs.clone()));
        let nll = to_host(sequence_nll(
            Tensor::from_data(TensorData::new(log_probs.clone(), [2, 4, 7]), &device),
            &batch,
        ));
        let by_hand = |row: usize, targets: &[usize]| -> f32 {
            -targets
                .iter()
                .enumerate()
                .map(|(t, &v)| log_probs[(row * 4 + t) * 7 + v])
                .sum::<f32>()
        };
        assert!((nll[0] - by_hand(0, &[1, 2, 3, 0])).abs() < 1e-4);
        assert!((nll[1] - by_hand(1, &[4, 0])).abs() < 1e-4);
    }

    #[test]
    fn the_parameter_count_is_tomczaks() {
        // the SMILES transformer of section 2.2: 1,018,032 parameters
        let config = DecoderConfig {
            vocabulary: 112,
            positions: 101,
            width: 64,
            heads: 4,
            head_width: 64,
            blocks: 10,
            mlp_hidden: 256,
            dropout: 0.1,
        };
        let model = DecoderTransformer::new(&config, &Device::flex());
        assert_eq!(model.num_params(), 1_018_032);
    }

    #[test]
    fn top_one_sampling_is_the_most_probable_token() {
        let mut rng = StdRng::seed_from_u64(0);
        let greedy = Sampling {
            temperature: 1.0,
            top_k: Some(1),
        };
        for _ in 0..20 {
            assert_eq!(draw_token(&[-3.0, -0.5, -1.0, -9.0], greedy, &mut rng), 1);
        }
    }

    #[test]
    fn sampling_follows_the_tempered_distribution() {
        let mut rng = StdRng::seed_from_u64(1);
        let log_probs = [0.5f32.ln(), 0.3f32.ln(), 0.2f32.ln()];
        let draws = 40_000;
        let frequency = |sampling: Sampling, rng: &mut StdRng| {
            let mut counts = [0usize; 3];
            for _ in 0..draws {
                counts[draw_token(&log_probs, sampling, rng)] += 1;
            }
            counts.map(|c| c as f64 / draws as f64)
        };
        // temperature 1: the distribution itself
        let plain = frequency(
            Sampling {
                temperature: 1.0,
                top_k: None,
            },
            &mut rng,
        );
        for (f, p) in plain.iter().zip([0.5, 0.3, 0.2]) {
            assert!((f - p).abs() < 0.01, "{plain:?}");
        }
        // temperature 1/2: p^2 renormalised; top 2 of it
        let sharp = frequency(
            Sampling {
                temperature: 0.5,
                top_k: Some(2),
            },
            &mut rng,
        );
        let (a, b) = (0.25 / 0.34, 0.09 / 0.34);
        assert!(
            (sharp[0] - a).abs() < 0.01 && (sharp[1] - b).abs() < 0.01,
            "{sharp:?}"
        );
        assert_eq!(sharp[2], 0.0);
    }

    #[test]
    fn generation_stops_at_the_end_token_and_at_the_length() {
        let device = Device::flex();
        let model = DecoderTransformer::new(&tiny(), &device);
        let mut rng = StdRng::seed_from_u64(2);
        let how = Generation {
            start: 6,
            end: Some(0),
            length: 12,
            sampling: Sampling {
                temperature: 1.0,
                top_k: None,
            },
        };
        let sequences = generate(&model, 16, &how, &mut rng, &device);
        for s in &sequences {
            assert_eq!(s[0], 6);
            assert!(s.len() <= 12);
            let end = s.iter().position(|&v| v == 0);
            match end {
                Some(e) => assert_eq!(e, s.len() - 1, "{s:?} goes on after its end"),
                None => assert_eq!(s.len(), 12),
            }
        }
    }
}
