//! Settings of the chapter's model: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::cli::Preset;
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
    pub batch_size: usize,
    /// AdamW learning rate and weight decay.
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub max_epochs: usize,
    /// Consecutive non-improving validation epochs tolerated.
    pub patience: usize,
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
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 0.01,
            max_epochs: 1000,
            patience: 20,
        }
    }

    /// The same model for 30 epochs.
    fn quick() -> MogConfig {
        MogConfig {
            max_epochs: 30,
            patience: 5,
            ..MogConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.max_epochs
    }
}
