//! Settings of the chapter's VAEs: `full()` is the book's, `quick()` the same model at a
//! seconds-long budget.

use clap::ValueEnum;
use dgm_core::config::{Preset, Schedule};
use serde::{Deserialize, Serialize};

/// The prior p(z) of the latent code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
pub enum PriorKind {
    /// N(0, I).
    Standard,
    /// A mixture of K Gaussians with learnable means, variances and weights.
    Mog,
    /// The VampPrior: a mixture of the encoder's posteriors of K learnable pseudo-inputs.
    Vampprior,
    /// A RealNVP (chapter 3) on top of N(0, I).
    Flow,
}

impl PriorKind {
    /// The name in paths and reports.
    pub fn name(self) -> &'static str {
        match self {
            PriorKind::Standard => "standard",
            PriorKind::Mog => "mog",
            PriorKind::Vampprior => "vampprior",
            PriorKind::Flow => "flow",
        }
    }
}

/// A VAE with MLP encoder and decoder and a categorical decoder over the 17 grey levels
/// (Tomczak, `vae_example` and `vae_priors_example`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// D: pixels per image.
    pub dim: usize,
    /// K: values a pixel can take (0..=16).
    pub levels: usize,
    /// M: width of the hidden layers of encoder and decoder.
    pub hidden: usize,
    /// L: dimensions of the latent code z.
    pub latent: usize,
    pub prior: PriorKind,
    /// Components of the mixture priors (pseudo-inputs of the VampPrior).
    pub components: usize,
    /// Coupling layers of the flow prior.
    pub flow_couplings: usize,
    /// Adamax with batches of 64 at 1e-3, early stopping on the validation -ELBO with
    /// patience 20.
    #[serde(flatten)]
    pub schedule: Schedule,
    /// Samples per test image of the importance-weighted likelihood estimate.
    pub iw_samples: usize,
}

impl Preset for VaeConfig {
    /// The book's VAE: L = 16, M = 256, standard normal prior.
    fn full() -> VaeConfig {
        VaeConfig {
            dim: 64,
            levels: 17,
            hidden: 256,
            latent: 16,
            prior: PriorKind::Standard,
            components: 16,
            flow_couplings: 3,
            schedule: Schedule::TOMCZAK,
            iw_samples: 1000,
        }
    }

    /// The same model for 15 epochs, with 100 importance samples.
    fn quick() -> VaeConfig {
        let full = VaeConfig::full();
        VaeConfig {
            schedule: full.schedule.with_epochs(15, 3),
            iw_samples: 100,
            ..full
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.schedule.max_epochs
    }
}

impl VaeConfig {
    /// The book's prior experiment: the same VAE with a 2-D latent and the given prior.
    pub fn with_prior(self, prior: PriorKind) -> VaeConfig {
        VaeConfig {
            latent: 2,
            prior,
            ..self
        }
    }
}
