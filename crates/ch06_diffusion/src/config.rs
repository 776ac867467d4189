//! Settings of the diffusion model: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::cli::Preset;
use serde::{Deserialize, Serialize};

/// Tomczak's diffusion-based deep generative model (`ddgm_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DdgmConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// T: steps of the forward diffusion.
    pub steps: usize,
    /// beta: the variance of the noise every forward step adds.
    pub beta: f64,
    /// M: width of the reverse networks' hidden layers (the decoder's are 2M).
    pub hidden: usize,
    pub batch_size: usize,
    /// Adamax learning rate.
    pub learning_rate: f64,
    pub max_epochs: usize,
    /// Consecutive non-improving validation epochs tolerated (50 in this notebook).
    pub patience: usize,
}

impl Preset for DdgmConfig {
    /// The book's settings: T = 5, beta = 0.9, M = 256, patience 50.
    fn full() -> DdgmConfig {
        DdgmConfig {
            dim: 64,
            steps: 5,
            beta: 0.9,
            hidden: 256,
            batch_size: 64,
            learning_rate: 1e-3,
            max_epochs: 1000,
            patience: 50,
        }
    }

    /// The same model for 20 epochs.
    fn quick() -> DdgmConfig {
        DdgmConfig {
            max_epochs: 20,
            patience: 5,
            ..DdgmConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.max_epochs
    }
}
