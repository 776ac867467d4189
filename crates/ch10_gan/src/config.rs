//! Settings of the chapter's model: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::config::Preset;
use serde::{Deserialize, Serialize};

/// The book's GAN with two small MLPs (Tomczak, `gans_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GanConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// The latent z's dimension.
    pub latent: usize,
    /// Width of the hidden layer of both networks.
    pub hidden: usize,
    /// Standard deviation of the noise added to every training image on the [-1, 1] scale.
    pub noise_std: f64,
    // Note: no `Schedule` here. A GAN has no validation likelihood to stop on, so there is no
    // patience, and the fixed epoch count keeps its name `epochs` in config.json.
    /// Images per step of each player.
    pub batch_size: usize,
    /// Adam learning rate of both players.
    pub learning_rate: f64,
    /// The GAN trains for a fixed number of epochs: there is no likelihood to stop on.
    pub epochs: usize,
}

impl Preset for GanConfig {
    /// The book's settings: z in 16 dimensions, hidden layers of 128, Adam 3e-4 for both
    /// players, batch 64, 500 epochs.
    fn full() -> GanConfig {
        GanConfig {
            dim: 64,
            latent: 16,
            hidden: 128,
            noise_std: 0.03,
            batch_size: 64,
            learning_rate: 3e-4,
            epochs: 500,
        }
    }

    /// The same model for 20 epochs.
    fn quick() -> GanConfig {
        GanConfig {
            epochs: 20,
            ..GanConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.epochs
    }
}
