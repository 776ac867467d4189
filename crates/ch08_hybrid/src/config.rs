//! Settings of the chapter's model: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::config::{Preset, Schedule};
use serde::{Deserialize, Serialize};

/// An integer flow with a classifier on its latent code, trained on both tasks at once
/// (Tomczak, `hybrid_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HybridConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// Classes y.
    pub classes: usize,
    /// Integer couplings in the flow.
    pub flows: usize,
    /// Width of the translation networks' and the classifier's hidden layers.
    pub hidden: usize,
    /// alpha: the weight of -log p(x) against the cross-entropy (the book's 1/D).
    pub alpha: f64,
    /// Adamax with batches of 64 at 1e-3, early stopping with patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for HybridConfig {
    /// The book's settings: 2 couplings, hidden layers of 256, alpha = 1/64, Adamax 1e-3,
    /// batch 64, patience 20.
    fn full() -> HybridConfig {
        HybridConfig {
            dim: 64,
            classes: 10,
            flows: 2,
            hidden: 256,
            alpha: 1.0 / 64.0,
            schedule: Schedule::TOMCZAK,
        }
    }

    /// The same model for 10 epochs.
    fn quick() -> HybridConfig {
        let full = HybridConfig::full();
        HybridConfig {
            schedule: full.schedule.with_epochs(10, 3),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
