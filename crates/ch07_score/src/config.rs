//! Settings of the chapter's models: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::cli::Preset;
use serde::{Deserialize, Serialize};

/// Conditional flow matching (Tomczak, `fm_example`; Lipman et al., 2023).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FmConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// M: width of the vector field's hidden layers.
    pub hidden: usize,
    /// sigma_min: the width of the probability path at the data end.
    pub sigma_min: f64,
    /// Euler steps of the sampler and of the likelihood's ODE (the book's 100 time points).
    pub ode_points: usize,
    pub batch_size: usize,
    /// Adamax learning rate.
    pub learning_rate: f64,
    pub max_epochs: usize,
    /// Consecutive non-improving validation epochs tolerated.
    pub patience: usize,
}

impl Preset for FmConfig {
    /// The book's settings: M = 512, sigma_min = 0.1, 100 time points, batch 32.
    fn full() -> FmConfig {
        FmConfig {
            dim: 64,
            hidden: 512,
            sigma_min: 0.1,
            ode_points: 100,
            batch_size: 32,
            learning_rate: 1e-3,
            max_epochs: 1000,
            patience: 20,
        }
    }

    /// The same model for 10 epochs, with 20 time points.
    fn quick() -> FmConfig {
        FmConfig {
            max_epochs: 10,
            patience: 3,
            ode_points: 20,
            ..FmConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.max_epochs
    }
}
