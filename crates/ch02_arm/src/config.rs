//! Settings of the causal-convolution ARM: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::cli::Preset;
use serde::{Deserialize, Serialize};

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
    /// Examples per optimiser step.
    pub batch_size: usize,
    /// Adamax learning rate.
    pub learning_rate: f64,
    /// Upper bound on epochs; early stopping usually ends training long before.
    pub max_epochs: usize,
    /// Consecutive non-improving validation epochs tolerated (the book's `max_patience`).
    pub patience: usize,
}

impl Preset for ArmConfig {
    /// The book's settings (Tomczak, section 2.2; `arm_example`).
    fn full() -> ArmConfig {
        ArmConfig {
            dim: 64,
            levels: 17,
            channels: 256,
            kernel_size: 7,
            batch_size: 64,
            learning_rate: 1e-3,
            max_epochs: 1000,
            patience: 20,
        }
    }

    /// The same architecture with 64 channels and a few epochs: finishes in seconds on 2 cores
    /// and already beats the uniform baseline by a wide margin.
    fn quick() -> ArmConfig {
        ArmConfig {
            channels: 64,
            max_epochs: 8,
            patience: 2,
            ..ArmConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.max_epochs
    }
}
