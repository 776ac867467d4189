//! Settings of the chapter's three models: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use dgm_core::config::{Preset, Schedule};
use dgm_core::nn::{Activation, Init};
use serde::{Deserialize, Serialize};

/// The shape of a RealNVP: how many couplings, and the MLPs that compute s and t.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowConfig {
    /// D: dimensions of the data.
    pub dim: usize,
    /// Affine coupling layers, each followed by reversing the order of the dimensions.
    pub couplings: usize,
    /// Width of the hidden layers of the s- and t-networks.
    pub hidden: usize,
    /// Hidden layers of the s- and t-networks.
    pub hidden_layers: usize,
    /// Nonlinearity between the hidden layers.
    pub activation: Activation,
    /// How the layers' weights start (PyTorch for Tomczak's model, Keras for Foster's).
    pub init: Init,
}

/// RealNVP on the dequantised digits (Tomczak, `realnvp_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RealNvpConfig {
    pub flow: FlowConfig,
    /// Adamax with batches of 64 at 1e-3, early stopping with patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for RealNvpConfig {
    /// The book's settings: 8 couplings, s and t MLPs 32 -> 256 -> 256 -> 32 with LeakyReLU.
    fn full() -> RealNvpConfig {
        RealNvpConfig {
            flow: FlowConfig {
                dim: 64,
                couplings: 8,
                hidden: 256,
                hidden_layers: 2,
                activation: Activation::LeakyRelu,
                init: Init::PyTorch,
            },
            schedule: Schedule::TOMCZAK,
        }
    }

    /// The same flow for 10 epochs.
    fn quick() -> RealNvpConfig {
        let full = RealNvpConfig::full();
        RealNvpConfig {
            schedule: full.schedule.with_epochs(10, 2),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}

/// Integer discrete flow on the digits (Tomczak, `idf_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdfConfig {
    /// D: dimensions of the data.
    pub dim: usize,
    /// Integer coupling layers, each followed by reversing the order of the dimensions.
    pub flows: usize,
    /// Blocks each coupling splits x into (4 in the book; D must be a multiple).
    pub blocks: usize,
    /// Width of the hidden layers of the translation networks.
    pub hidden: usize,
    /// Start where the data is (not in the book): the translation networks output 0, so the
    /// flow starts as the identity, and the prior starts at each pixel's mean and spread.
    pub data_init: bool,
    /// Adamax with batches of 64 at 1e-3, early stopping with patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl Preset for IdfConfig {
    /// The book's settings: 8 flows of the 4-block coupling, translation MLPs 48 -> 256 -> 256 -> 16.
    fn full() -> IdfConfig {
        IdfConfig {
            dim: 64,
            flows: 8,
            blocks: 4,
            hidden: 256,
            data_init: false,
            schedule: Schedule::TOMCZAK,
        }
    }

    /// The same flow for 10 epochs.
    fn quick() -> IdfConfig {
        let full = IdfConfig::full();
        IdfConfig {
            schedule: full.schedule.with_epochs(10, 2),
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}

/// Foster's RealNVP on two moons (`06_normflow/01_realnvp`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MoonsConfig {
    pub flow: FlowConfig,
    /// Training points drawn from two moons (validation and test sets have `eval_points` each).
    pub points: usize,
    pub eval_points: usize,
    /// Standard deviation of the Gaussian noise around the half circles.
    pub noise: f64,
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Epochs (no early stopping: the book trains for a fixed number).
    pub epochs: usize,
}

impl MoonsConfig {
    /// The schedule of the book's fixed number of epochs: a patience as long as the run, so
    /// early stopping never ends it (the checkpoint still keeps the best validation epoch).
    ///
    /// Note: the fields stay flat rather than a nested [`Schedule`], so `config.json` keeps the
    /// book's `epochs` and has no `patience` it would not use.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            max_epochs: self.epochs,
            patience: self.epochs,
        }
    }
}

impl Preset for MoonsConfig {
    /// The book's settings: 2 couplings, s and t MLPs with four hidden layers of 256 and ReLU,
    /// batch 256, Adam 1e-4, 300 epochs, on 3,000 points: the size of the run whose saved output
    /// (loss 1.70 at epoch 300) the notebook shows (its text asks for 30,000).
    fn full() -> MoonsConfig {
        MoonsConfig {
            flow: FlowConfig {
                dim: 2,
                couplings: 2,
                hidden: 256,
                hidden_layers: 4,
                activation: Activation::Relu,
                init: Init::Keras,
            },
            points: 3_000,
            eval_points: 3_000,
            noise: 0.05,
            batch_size: 256,
            learning_rate: 1e-4,
            epochs: 300,
        }
    }

    /// The same for 30 epochs.
    fn quick() -> MoonsConfig {
        MoonsConfig {
            epochs: 30,
            ..MoonsConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.epochs
    }
}
