//! Settings of the chapter's models: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::config::{Preset, Schedule};
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
    /// Adamax with batches of 32 at 1e-3, early stopping with patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for FmConfig {
    /// The book's settings: M = 512, sigma_min = 0.1, 100 time points, batch 32.
    fn full() -> FmConfig {
        FmConfig {
            dim: 64,
            hidden: 512,
            sigma_min: 0.1,
            ode_points: 100,
            schedule: Schedule {
                batch_size: 32,
                ..Schedule::TOMCZAK
            },
        }
    }

    /// The same model for 10 epochs, with 20 time points.
    fn quick() -> FmConfig {
        let full = FmConfig::full();
        FmConfig {
            ode_points: 20,
            schedule: full.schedule.with_epochs(10, 3),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}

/// Denoising score matching with Langevin sampling (Tomczak, `sm_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// M: width of the score network's hidden layers.
    pub hidden: usize,
    /// sigma: the standard deviation of the noise added to the data.
    pub sigma: f64,
    /// Langevin steps from uniform noise to a sample.
    pub langevin_steps: usize,
    /// alpha: the step along the score network's output.
    pub step: f64,
    /// eta: the standard deviation of the noise added at every step.
    pub noise: f64,
    /// Adamax with batches of 32 at 1e-4 (the book's, ten times smaller than the chapter's other
    /// models), early stopping with patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for SmConfig {
    /// The book's settings: M = 512, sigma = 0.1, 100 steps of alpha = 0.1 and eta = 0.05,
    /// Adamax 1e-4, batch 32.
    fn full() -> SmConfig {
        SmConfig {
            dim: 64,
            hidden: 512,
            sigma: 0.1,
            langevin_steps: 100,
            step: 0.1,
            noise: 0.05,
            schedule: Schedule {
                batch_size: 32,
                learning_rate: 1e-4,
                ..Schedule::TOMCZAK
            },
        }
    }

    /// The same model for 10 epochs.
    fn quick() -> SmConfig {
        let full = SmConfig::full();
        SmConfig {
            schedule: full.schedule.with_epochs(10, 3),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}

/// A score-based generative model on a variance-exploding SDE (Tomczak, `sbgm_example`;
/// Song et al., 2021).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SbgmConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// M: width of the score network's hidden layers.
    pub hidden: usize,
    /// sigma: the SDE's diffusion coefficient is g(t) = sigma^t.
    pub sigma: f64,
    /// The smallest time: t runs over [t_min, 1], where the noise's scale is not zero.
    pub t_min: f64,
    /// Time points of the Euler sampler from t = 1 to t = t_min (the book's T = 20).
    pub euler_points: usize,
    /// Adamax with batches of 32 at 1e-3, early stopping with patience 50.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for SbgmConfig {
    /// The book's settings: M = 512, sigma = 1.01, t_min = 1e-5, 20 time points, Adamax 1e-3,
    /// batch 32, patience 50.
    fn full() -> SbgmConfig {
        SbgmConfig {
            dim: 64,
            hidden: 512,
            sigma: 1.01,
            t_min: 1e-5,
            euler_points: 20,
            schedule: Schedule {
                batch_size: 32,
                patience: 50,
                ..Schedule::TOMCZAK
            },
        }
    }

    /// The same model for 10 epochs.
    fn quick() -> SbgmConfig {
        let full = SbgmConfig::full();
        SbgmConfig {
            schedule: full.schedule.with_epochs(10, 3),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}
