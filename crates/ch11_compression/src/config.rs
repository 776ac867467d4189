//! Settings of the chapter's models: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use clap::ValueEnum;
use dgm_core::config::{Preset, Schedule};
use serde::{Deserialize, Serialize};

/// The model of the code symbols' probabilities, which sets the rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EntropyKind {
    /// An autoregressive model of the 16 symbols: causal convolutions (the book's default).
    Arm,
    /// A learned categorical per code position, independent of the others.
    Indp,
    /// Every symbol equally likely: a fixed 3 bits per symbol, nothing to learn (the rate's
    /// weight is 0).
    Uniform,
}

/// Learned lossy compression (Tomczak, `neural_compression_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompressionConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// C: symbols in an image's code.
    pub code_len: usize,
    /// E: values in the scalar codebook.
    pub codebook: usize,
    /// Widths of the encoder's hidden layers (the decoder's, reversed).
    pub hidden: Vec<usize>,
    pub entropy: EntropyKind,
    /// Channels and kernel size of the autoregressive entropy model.
    pub arm_channels: usize,
    pub arm_kernel: usize,
    /// beta: the weight of the rate against the distortion.
    pub beta: f64,
    /// Adamax with batches of 64 at 1e-3, early stopping on the validation objective with
    /// patience 50.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl CompressionConfig {
    /// The book's settings with another entropy model (the uniform one has nothing to trade, so
    /// its beta is 0).
    pub fn with_entropy(self, entropy: EntropyKind) -> CompressionConfig {
        let beta = if entropy == EntropyKind::Uniform {
            0.0
        } else {
            self.beta
        };
        CompressionConfig {
            entropy,
            beta,
            ..self
        }
    }
}

impl Preset for CompressionConfig {
    /// The book's settings: codes of 16 symbols from a codebook of 8 values, encoder
    /// 64-512-256-128-16, the autoregressive entropy model with 32 channels and kernel 4,
    /// beta = 1, Adamax 1e-3, batch 64, patience 50.
    fn full() -> CompressionConfig {
        CompressionConfig {
            dim: 64,
            code_len: 16,
            codebook: 8,
            hidden: vec![512, 256, 128],
            entropy: EntropyKind::Arm,
            arm_channels: 32,
            arm_kernel: 4,
            beta: 1.0,
            schedule: Schedule {
                patience: 50,
                ..Schedule::TOMCZAK
            },
        }
    }

    /// The same model for 20 epochs.
    fn quick() -> CompressionConfig {
        let full = CompressionConfig::full();
        CompressionConfig {
            schedule: full.schedule.with_epochs(20, 5),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
