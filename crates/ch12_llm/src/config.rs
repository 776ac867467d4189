//! Settings of the teeny GPT: `full()` is the reference's network and optimiser on a token
//! budget, `quick()` a small network for a minute.

use dgm_core::config::{Preset, Schedule};
use dgm_core::transformer::Sampling;
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
    /// AdamW with batches of 32 windows at 1e-3, early stopping on the validation NLL per
    /// character with patience 5, at most 12 epochs (of `steps_per_epoch` steps each).
    #[serde(flatten)]
    pub schedule: Schedule,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Optimiser steps between two validations: an "epoch" of this many batches drawn without
    /// replacement from the training windows (a whole pass would take hours on 2 cores).
    pub steps_per_epoch: usize,
    /// Texts written at the end of training for each sampling setting.
    pub samples: usize,
    /// The sampling settings of the written texts.
    pub sampling: Vec<Sampling>,
}

impl LlmConfig {
    /// Training characters read per epoch.
    pub fn tokens_per_epoch(&self) -> usize {
        self.steps_per_epoch * self.schedule.batch_size * self.context
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
            schedule: Schedule {
                batch_size: 32,
                learning_rate: 1e-3,
                max_epochs: 12,
                patience: 5,
            },
            weight_decay: 0.01,
            steps_per_epoch: 25,
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
        let full = LlmConfig::full();
        LlmConfig {
            blocks: 2,
            mlp_hidden: 512,
            steps_per_epoch: 30,
            schedule: Schedule {
                max_epochs: 3,
                ..full.schedule
            },
            samples: 2,
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
