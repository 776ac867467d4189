//! Settings of the teeny GPT: `full()` is the reference's network and optimiser on a token
//! budget, `quick()` a small network for a minute.

use dgm_core::cli::Preset;
use dgm_core::transformer::{DecoderConfig, Sampling};
use serde::{Deserialize, Serialize};

/// Model, data and training settings of the teeny GPT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmConfig {
    /// Characters per window: the model reads the start token and predicts each of them.
    pub context: usize,
    /// D: the width of every position's vector.
    pub width: usize,
    /// H: attention heads per block, each of width D / H.
    pub heads: usize,
    pub blocks: usize,
    /// The hidden width of each block's MLP.
    pub mlp_hidden: usize,
    /// Dropout on the embeddings while training.
    pub dropout: f64,
    /// Windows per optimiser step.
    pub batch_size: usize,
    /// AdamW learning rate and decoupled weight decay.
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Optimiser steps between two validations: an "epoch" of this many batches drawn without
    /// replacement from the training windows (a whole pass would take hours on 2 cores).
    pub steps_per_epoch: usize,
    pub max_epochs: usize,
    /// Consecutive non-improving validation epochs tolerated.
    pub patience: usize,
    /// Texts written at the end of training for each sampling setting.
    pub samples: usize,
    /// The sampling settings of the written texts.
    pub sampling: Vec<Sampling>,
}

impl LlmConfig {
    /// The network's shape for a vocabulary of `vocabulary` tokens.
    pub fn decoder(&self, vocabulary: usize) -> DecoderConfig {
        DecoderConfig {
            vocabulary,
            // as the reference: one position per id of a window, the last never read as input
            positions: self.context + 1,
            width: self.width,
            heads: self.heads,
            head_width: self.width / self.heads,
            blocks: self.blocks,
            mlp_hidden: self.mlp_hidden,
            dropout: self.dropout,
        }
    }

    /// Training characters read per epoch.
    pub fn tokens_per_epoch(&self) -> usize {
        self.steps_per_epoch * self.batch_size * self.context
    }
}

impl Preset for LlmConfig {
    /// The reference's network (reference/intro_dgm.md, section 2.17): width 32, 8 heads, 4
    /// blocks with a 32 -> 16,384 -> 32 MLP, 150 positions; AdamW 1e-3 with weight decay 0.01,
    /// batch 32, patience 5. The budget: at most 12 epochs of 25 steps, 1.43 M characters, about
    /// the 1.3 M tokens of one epoch of the reference's headlines (a pass over the 4.9 M
    /// training characters would take hours on 2 cores).
    fn full() -> LlmConfig {
        LlmConfig {
            context: 149,
            width: 32,
            heads: 8,
            blocks: 4,
            mlp_hidden: 16_384,
            dropout: 0.1,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 0.01,
            steps_per_epoch: 25,
            max_epochs: 12,
            patience: 5,
            samples: 4,
            sampling: vec![
                Sampling {
                    temperature: 1.0,
                    top_k: None,
                },
                Sampling {
                    temperature: 0.8,
                    top_k: Some(10),
                },
                Sampling {
                    temperature: 0.5,
                    top_k: Some(5),
                },
            ],
        }
    }

    /// Two blocks with a 512-wide MLP, three epochs of 30 steps: about a minute.
    fn quick() -> LlmConfig {
        LlmConfig {
            blocks: 2,
            mlp_hidden: 512,
            steps_per_epoch: 30,
            max_epochs: 3,
            samples: 2,
            ..LlmConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.max_epochs
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::prelude::Device;
    use dgm_core::transformer::DecoderTransformer;

    use super::*;

    #[test]
    fn the_network_has_the_references_parameters() {
        // the reference's 29 tokens: 4,284,061 parameters (reference/intro_dgm.md, 2.17)
        let decoder = LlmConfig::full().decoder(29);
        let model = DecoderTransformer::new(&decoder, &Device::flex());
        assert_eq!(model.num_params(), 4_284_061);
    }
}
