//! A generative adversarial network (Goodfellow et al., 2014): a generator G turns noise z into
//! images, a discriminator D tells them from real ones, and the two play the minimax game
//!
//! min_G max_D E_x[log D(x)] + E_z[log(1 - D(G(z)))].
//!
//! Nothing here is a likelihood: the generator never evaluates a density, it only learns to fool
//! D. At the game's equilibrium G reproduces the data and D says 1/2 everywhere.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::sigmoid;
use dgm_core::nn::{Activation, Init, Mlp};

use crate::config::GanConfig;

/// D's output is kept in [1e-5, 1 - 1e-5] so that neither logarithm is infinite.
pub const D_CLAMP: f64 = 1e-5;

// ANCHOR: players
/// The generator G(z): 16 -> 128 (ReLU) -> 64 (tanh), images on the [-1, 1] scale.
#[derive(Module, Debug)]
pub struct Generator {
    net: Mlp,
    #[module(skip)]
    latent: usize,
}

/// The discriminator D(x): 64 -> 128 (ReLU) -> 1 (sigmoid), the probability that x is real.
#[derive(Module, Debug)]
pub struct Discriminator {
    net: Mlp,
}

/// Both players, saved together in one checkpoint.
#[derive(Module, Debug)]
pub struct Gan {
    pub generator: Generator,
    pub discriminator: Discriminator,
}

impl Gan {
    pub fn new(config: &GanConfig, device: &Device) -> Gan {
        let (d, m) = (config.dim, config.hidden);
        Gan {
            generator: Generator {
                net: Mlp::new(
                    &[config.latent, m, d],
                    Activation::Relu,
                    Activation::Tanh,
                    Init::PyTorch,
                    device,
                ),
                latent: config.latent,
            },
            discriminator: Discriminator {
                net: Mlp::new(
                    &[d, m, 1],
                    Activation::Relu,
                    Activation::Identity,
                    Init::PyTorch,
                    device,
                ),
            },
        }
    }
}

impl Generator {
    /// # Shapes
    /// - z: [batch, latent]
    /// - returns: [batch, D]
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        self.net.forward(z)
    }

    /// n images from z ~ N(0, I).
    ///
    /// # Shapes
    /// - returns: [n, D]
    pub fn sample(&self, n: usize, device: &Device) -> Tensor<2> {
        let z = Tensor::random([n, self.latent], Distribution::Normal(0.0, 1.0), device);
        self.forward(z)
    }
}

impl Discriminator {
    /// D(x), clamped to [1e-5, 1 - 1e-5].
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let [batch, _] = x.dims();
        // [batch, 1] -> [batch]
        sigmoid(self.net.forward(x))
            .clamp(D_CLAMP, 1.0 - D_CLAMP)
            .reshape([batch])
    }
}
// ANCHOR_END: players

// ANCHOR: losses
/// The discriminator's loss per image pair, -(log D(x) + log(1 - D(G(z)))): its side of the
/// game, as a loss to minimise. At D = 1/2 it is 2 ln 2 = ln 4.
///
/// # Shapes
/// - d_real, d_fake: [batch]
/// - returns: [batch]
pub fn discriminator_loss(d_real: Tensor<1>, d_fake: Tensor<1>) -> Tensor<1> {
    (d_real.log() + d_fake.neg().add_scalar(1.0).log()).neg()
}

/// The generator's loss per image, log(1 - D(G(z))) (the book's "saturating" form: its gradient
/// vanishes where D confidently rejects G's images). At D = 1/2 it is -ln 2.
///
/// # Shapes
/// - d_fake: [batch]
/// - returns: [batch]
pub fn generator_loss(d_fake: Tensor<1>) -> Tensor<1> {
    d_fake.neg().add_scalar(1.0).log()
}
// ANCHOR_END: losses
