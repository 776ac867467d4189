//! Settings of the chapter's two models, the causal-convolution ARM and the SMILES transformer:
//! `full()` is the book's, `quick()` the same model at a seconds-long budget.

use dgm_core::config::{Preset, Schedule};
use dgm_core::transformer::{Architecture, DecoderConfig};
use serde::{Deserialize, Serialize};

use crate::molecules::{Molecules, Selection};

/// Model and training settings of the causal-convolution ARM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmConfig {
    /// D: pixels in the sequence (an 8x8 image read row by row).
    pub dim: usize,
    /// K: values a pixel can take (0..=16).
    pub levels: usize,
    /// M: channels of the hidden causal convolutions.
    pub channels: usize,
    /// Kernel size of every causal convolution.
    pub kernel_size: usize,
    /// Adamax with batches of 64 at 1e-3, early stopping with patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for ArmConfig {
    /// The book's settings (Tomczak, section 2.2; `arm_example`).
    fn full() -> ArmConfig {
        ArmConfig {
            dim: 64,
            levels: 17,
            channels: 256,
            kernel_size: 7,
            schedule: Schedule::TOMCZAK,
        }
    }

    /// The same architecture with 64 channels and a few epochs: finishes in seconds on 2 cores
    /// and already beats the uniform baseline by a wide margin.
    fn quick() -> ArmConfig {
        let full = ArmConfig::full();
        ArmConfig {
            channels: 64,
            schedule: full.schedule.with_epochs(8, 2),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}

/// Model, data and training settings of the SMILES transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    pub selection: Selection,
    /// D = 64, H = 4 heads of the whole width E = D (as the book), 10 blocks, MLPs of 256.
    #[serde(flatten)]
    pub architecture: Architecture,
    /// Adamax with batches of 64 molecules at 1e-3, early stopping with patience 10.
    #[serde(flatten)]
    pub schedule: Schedule,
    /// Molecules generated at the end of training, for the validity score.
    pub samples: usize,
}

impl TransformerConfig {
    /// The network's shape for these molecules: their vocabulary, and inputs as long as the
    /// longest row minus its last id.
    pub fn decoder(&self, molecules: &Molecules) -> DecoderConfig {
        DecoderConfig {
            vocabulary: molecules.vocabulary(),
            positions: molecules.train.length - 1,
            architecture: self.architecture.clone(),
        }
    }
}

impl Preset for TransformerConfig {
    /// The book's model and training (reference/intro_dgm.md, section 2.2) on the first 7410
    /// MOSES test molecules of 10 to 100 tokens, split 6600 / 400 / 410 like the book's Tox21.
    fn full() -> TransformerConfig {
        TransformerConfig {
            selection: Selection {
                molecules: 7410,
                min_tokens: 10,
                max_tokens: 100,
                train: 6600,
                val: 400,
            },
            architecture: Architecture {
                width: 64,
                heads: 4,
                head_width: 64,
                blocks: 10,
                mlp_hidden: 256,
                dropout: 0.1,
            },
            schedule: Schedule {
                max_epochs: 200,
                patience: 10,
                ..Schedule::TOMCZAK
            },
            samples: 1028,
        }
    }

    /// Two blocks and three epochs on the same molecules: about a minute on 2 cores.
    fn quick() -> TransformerConfig {
        let full = TransformerConfig::full();
        TransformerConfig {
            architecture: Architecture {
                blocks: 2,
                ..full.architecture
            },
            schedule: full.schedule.with_epochs(3, 2),
            samples: 64,
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
