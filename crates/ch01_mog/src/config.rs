//! Settings of the chapter's model: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::config::{Preset, Schedule};
use serde::{Deserialize, Serialize};

/// A mixture of K diagonal Gaussians on the digits (Tomczak, `mog_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MogConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// K: mixture components.
    pub components: usize,
    /// Learn the mixing weights pi_k; the book fixes them at 1/K.
    pub learn_weights: bool,
    /// Standard deviation of the noise added to every pixel on the [0, 1] scale (1/136, an
    /// eighth of a grey level).
    pub noise_std: f64,
    /// AdamW with batches of 32 at 1e-3, early stopping with patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
    /// AdamW's weight decay (PyTorch's default).
    pub weight_decay: f64,
}

impl Preset for MogConfig {
    /// The book's settings: K = 25 with equal weights, AdamW 1e-3 (weight decay 0.01),
    /// batch 32, patience 20.
    fn full() -> MogConfig {
        MogConfig {
            dim: 64,
            components: 25,
            learn_weights: false,
            noise_std: 1.0 / 136.0,
            schedule: Schedule {
                batch_size: 32,
                ..Schedule::TOMCZAK
            },
            weight_decay: 0.01,
        }
    }

    /// The same model for 30 epochs.
    fn quick() -> MogConfig {
        let full = MogConfig::full();
        MogConfig {
            schedule: full.schedule.with_epochs(30, 5),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
