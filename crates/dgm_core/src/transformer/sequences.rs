//! Token sequences of one length, the teacher-forcing batches made of them, -log p(sequence),
//! one training pass over them and the scores of a set.

use anyhow::Result;
use burn::prelude::*;

use super::decoder::DecoderTransformer;
use crate::data::to_host;
use crate::train::Trainer;

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

// ANCHOR: sequence_epoch
/// One pass of teacher forcing over token sequences: the loss of a batch is the mean over its
/// sequences of -log p(sequence) (see [`sequence_nll`]). With `max_batches`, the pass stops after
/// that many batches of a fresh random order: an "epoch" of a corpus too large to read whole
/// between two validations.
pub fn sequence_epoch(
    trainer: &mut Trainer,
    model: DecoderTransformer,
    train: &Sequences,
    epoch: usize,
    max_batches: Option<usize>,
) -> Result<(DecoderTransformer, f64)> {
    trainer.pass(
        model,
        train.len(),
        max_batches,
        epoch,
        |rows, device| train.batch(rows, device),
        |model, batch| sequence_nll(model.forward(batch.inputs.clone()), &batch).mean(),
    )
}
// ANCHOR_END: sequence_epoch
