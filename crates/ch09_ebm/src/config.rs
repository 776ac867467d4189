//! Settings of the chapter's model: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::config::{Preset, Schedule};
use serde::{Deserialize, Serialize};

/// A classifier read as an energy-based model (Tomczak, `ebm_example`; Grathwohl et al., 2020).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EbmConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// Width of the network's three hidden layers.
    pub hidden: usize,
    /// Classes y.
    pub classes: usize,
    /// Standard deviation of the noise added to every training image on the [-1, 1] scale.
    pub noise_std: f64,
    /// Langevin steps from uniform noise to a sample.
    pub langevin_steps: usize,
    /// alpha: the step along the gradient of log sum_y exp f(x)[y].
    pub step: f64,
    /// sigma: the standard deviation of the noise added at every step.
    pub noise: f64,
    /// Adamax with batches of 64 at 1e-3, early stopping with patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for EbmConfig {
    /// The book's settings: a 64-512-512-512-10 ELU network, 20 Langevin steps of alpha = 1
    /// and sigma = 0.01, Adamax 1e-3, batch 64, patience 20.
    fn full() -> EbmConfig {
        EbmConfig {
            dim: 64,
            hidden: 512,
            classes: 10,
            noise_std: 0.03,
            langevin_steps: 20,
            step: 1.0,
            noise: 0.01,
            schedule: Schedule::TOMCZAK,
        }
    }

    /// The same model for 10 epochs.
    fn quick() -> EbmConfig {
        let full = EbmConfig::full();
        EbmConfig {
            schedule: full.schedule.with_epochs(10, 3),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
