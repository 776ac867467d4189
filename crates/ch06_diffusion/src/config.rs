//! Settings of the diffusion model: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::config::{Preset, Schedule};
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
    /// Adamax with batches of 64 at 1e-3, early stopping with patience 50 (this notebook's).
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for DdgmConfig {
    /// The book's settings: T = 5, beta = 0.9, M = 256, patience 50.
    fn full() -> DdgmConfig {
        DdgmConfig {
            dim: 64,
            steps: 5,
            beta: 0.9,
            hidden: 256,
            schedule: Schedule {
                patience: 50,
                ..Schedule::TOMCZAK
            },
        }
    }

    /// The same model for 20 epochs.
    fn quick() -> DdgmConfig {
        let full = DdgmConfig::full();
        DdgmConfig {
            schedule: full.schedule.with_epochs(20, 5),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
