//! Settings of the hierarchical VAE: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::config::{Preset, Schedule};
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
    /// Adamax with batches of 64 at 1e-3, early stopping on the validation -ELBO with
    /// patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
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
            schedule: Schedule::TOMCZAK,
            iw_samples: 1000,
        }
    }

    /// The same model for 15 epochs, with 100 importance samples.
    fn quick() -> HvaeConfig {
        let full = HvaeConfig::full();
        HvaeConfig {
            schedule: full.schedule.with_epochs(15, 3),
            iw_samples: 100,
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
