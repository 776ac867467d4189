//! A generative adversarial network (Goodfellow et al., 2014): a generator G turns noise z into
//! images, a discriminator D tells them from real ones, and the two play the minimax game
//!
//! min_G max_D E_x[log D(x)] + E_z[log(1 - D(G(z)))].
//!
//! Nothing here is a likelihood: the generator never evaluates a density, it only learns to fool
//! D. At the game's equilibrium G reproduces the data and D says 1/2 everywhere. Training plays
//! the game one batch at a time, a step for each player with an optimiser of its own
//! ([`GanTrainer`]).

use anyhow::Result;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::sigmoid;
use dgm_core::backend::{Stage, seed_stage};
use dgm_core::data::{Split, to_unit_scale};
use dgm_core::interrupt;
use dgm_core::metrics::{MeanAccumulator, ensure_finite};
use dgm_core::nn::{Activation, Init, Mlp};
use dgm_core::run::RunContext;
use dgm_core::snapshot::Snapshot;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

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

/// Adam with PyTorch's defaults (epsilon 1e-8), one per player.
fn adam() -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(1e-8).init()
}

/// The training images of a batch: the book's [-1, 1] scale plus fresh noise, so that the
/// discriminator cannot separate real from fake by the data's 17 exact grey levels.
fn noisy_real(x: Tensor<2>, noise_std: f64) -> Tensor<2> {
    let noise = Tensor::random(x.dims(), Distribution::Normal(0.0, noise_std), &x.device());
    to_unit_scale(x) + noise
}

/// The two players' optimisers, and the generator that shuffles the training set.
pub struct GanTrainer {
    discriminator_optimizer: ModuleOptimizer,
    generator_optimizer: ModuleOptimizer,
    rng: StdRng,
    seed: u64,
    device: Device,
}

/// One epoch's mean losses.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Losses {
    pub discriminator: f64,
    pub generator: f64,
}

impl GanTrainer {
    /// Fresh optimisers on the run's autodiff device, shuffling with a generator seeded by
    /// `--seed`.
    pub fn new(ctx: &RunContext) -> GanTrainer {
        GanTrainer {
            discriminator_optimizer: adam(),
            generator_optimizer: adam(),
            rng: StdRng::seed_from_u64(ctx.seed),
            seed: ctx.seed,
            device: ctx.device.clone().autodiff(),
        }
    }

    /// Starts `stage` of the run: noise and data order draw from the stage's own seed, so a
    /// resumed run draws what the run left alone drew.
    pub fn begin(&mut self, stage: Stage) {
        self.rng = seed_stage(&self.device, self.seed, stage);
    }

    /// The snapshot with both players and both optimisers' states added.
    pub fn save(&self, gan: &Gan, snapshot: Snapshot) -> Result<Snapshot> {
        snapshot
            .with_module("gan", gan)?
            .with_optimizer("discriminator_optimizer", &self.discriminator_optimizer)?
            .with_optimizer("generator_optimizer", &self.generator_optimizer)
    }

    /// Takes both players and both optimisers' states back from a snapshot.
    pub fn restore(&mut self, gan: Gan, snapshot: &Snapshot) -> Result<Gan> {
        let (d, g) = ("discriminator_optimizer", "generator_optimizer");
        self.discriminator_optimizer =
            snapshot.optimizer(d, self.discriminator_optimizer.clone())?;
        self.generator_optimizer = snapshot.optimizer(g, self.generator_optimizer.clone())?;
        snapshot.module("gan", gan)
    }

    /// The device the players are trained on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    // ANCHOR: epoch
    /// One pass over the shuffled training set. Per batch, first a discriminator step on
    /// -(log D(x) + log(1 - D(G(z)))) with the generator held fixed, then a generator step on
    /// log(1 - D(G(z'))) with a fresh z' (only the generator's parameters move).
    pub fn epoch(
        &mut self,
        mut gan: Gan,
        train: &Split,
        config: &GanConfig,
        epoch: usize,
    ) -> Result<(Gan, Losses)> {
        let (mut d_total, mut g_total) = (MeanAccumulator::default(), MeanAccumulator::default());
        let lr = config.learning_rate;
        for (b, indices) in train
            .shuffled_batches(config.batch_size, &mut self.rng)
            .into_iter()
            .enumerate()
        {
            let x = noisy_real(train.rows(&indices, &self.device), config.noise_std);
            let batch = indices.len();

            let fake = gan.generator.sample(batch, &self.device).detach();
            let d_loss = discriminator_loss(
                gan.discriminator.forward(x),
                gan.discriminator.forward(fake),
            )
            .mean();
            let d_value = d_loss.clone().into_scalar::<f32>() as f64;
            ensure_finite(d_value, epoch, b)?;
            let grads = GradientsParams::from_grads(d_loss.backward(), &gan.discriminator);
            gan.discriminator = self
                .discriminator_optimizer
                .step(lr, gan.discriminator, grads);

            let fake = gan.generator.sample(batch, &self.device);
            let g_loss = generator_loss(gan.discriminator.forward(fake)).mean();
            let g_value = g_loss.clone().into_scalar::<f32>() as f64;
            ensure_finite(g_value, epoch, b)?;
            let grads = GradientsParams::from_grads(g_loss.backward(), &gan.generator);
            gan.generator = self.generator_optimizer.step(lr, gan.generator, grads);

            d_total.add(&[d_value as f32]);
            g_total.add(&[g_value as f32]);
            interrupt::check(epoch)?;
        }
        let losses = Losses {
            discriminator: d_total.mean(),
            generator: g_total.mean(),
        };
        Ok((gan, losses))
    }
    // ANCHOR_END: epoch
}
