//! The decoder-only transformer of Tomczak's two language models (chapter 2's SMILES model and
//! the teeny GPT of chapter 12), the token sequences it learns from, and how it is scored and
//! sampled.
//!
//! The model is an autoregressive distribution over token sequences,
//! p(x_1..x_T | x_0) = prod_t p(x_t | x_0..x_{t-1}), with x_0 a start token. One pass of the
//! network gives every factor at once: position t sees the tokens 0..=t only (causal attention)
//! and predicts token t + 1.
//!
//! | file | holds |
//! |---|---|
//! | [`decoder`] | the network: embeddings, post-LayerNorm blocks, the output layer |
//! | [`sequences`] | token sequences, teacher-forcing batches, their NLL, training and scoring |
//! | [`sampling`] | drawing tokens one at a time: temperature, top-k, generation |

pub mod decoder;
pub mod sampling;
pub mod sequences;

pub use decoder::{Architecture, Block, DecoderConfig, DecoderTransformer};
pub use sampling::{Generation, Sampling, draw_token, generate};
pub use sequences::{Scores, Sequences, TokenBatch, evaluate, sequence_epoch, sequence_nll};

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use burn::tensor::Distribution;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::data::to_host;

    fn tiny() -> DecoderConfig {
        DecoderConfig {
            vocabulary: 7,
            positions: 12,
            architecture: Architecture {
                width: 8,
                heads: 2,
                head_width: 4,
                blocks: 2,
                mlp_hidden: 16,
                dropout: 0.1,
            },
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
            crate::attention::assert_causal_rows(&to_host(block), 6);
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
