//! Settings of the hierarchical VAE: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::cli::Preset;
use serde::{Deserialize, Serialize};

/// The two-level top-down VAE (Tomczak, `vae_hierarchical_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HvaeConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// K: values a pixel can take (0..=16).
    pub levels: usize,
    /// M: width of every hidden layer.
    pub hidden: usize,
    /// L: size of the top latent z_2; the lower z_1 has 2L dimensions.
    pub latent: usize,
    pub batch_size: usize,
    /// Adamax learning rate.
    pub learning_rate: f64,
    pub max_epochs: usize,
    /// Consecutive non-improving validation epochs tolerated (the book's `max_patience`).
    pub patience: usize,
    /// Samples per test image of the importance-weighted likelihood estimate.
    pub iw_samples: usize,
}

impl Preset for HvaeConfig {
    /// The book's settings: L = 8 (z_1 of 16), M = 256.
    fn full() -> HvaeConfig {
        HvaeConfig {
            dim: 64,
            levels: 17,
            hidden: 256,
            latent: 8,
            batch_size: 64,
            learning_rate: 1e-3,
            max_epochs: 1000,
            patience: 20,
            iw_samples: 1000,
        }
    }

    /// The same model for 15 epochs, with 100 importance samples.
    fn quick() -> HvaeConfig {
        HvaeConfig {
            max_epochs: 15,
            patience: 3,
            iw_samples: 100,
            ..HvaeConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.max_epochs
    }
}
