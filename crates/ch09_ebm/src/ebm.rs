//! A classifier read as an energy-based model (Grathwohl et al., 2020, "JEM"). The logits f(x)
//! of an ordinary classifier define both
//!
//! p(y | x) = softmax(f(x))[y]   and   p(x) = exp(-E(x)) / Z,  E(x) = -log sum_y exp f(x)[y],
//!
//! so one network is trained to classify and to model the images. Z is intractable; the
//! gradient of log p(x) only needs samples from the model, which Langevin dynamics provides.

use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::data::to_unit_scale;
use dgm_core::distributions::{cross_entropy, log_sum_exp};
use dgm_core::nn::{Activation, Init, Mlp};

use crate::config::EbmConfig;

// ANCHOR: model
/// f(x): 64 -> 512 -> 512 -> 512 -> 10 with ELU.
#[derive(Module, Debug)]
pub struct Ebm {
    net: Mlp,
}

impl Ebm {
    pub fn new(config: &EbmConfig, device: &Device) -> Ebm {
        let (m, c) = (config.hidden, config.classes);
        Ebm {
            net: Mlp::new(
                &[config.dim, m, m, m, c],
                Activation::Elu,
                Activation::Identity,
                Init::PyTorch,
                device,
            ),
        }
    }

    /// f(x), the logits of p(y | x).
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch, classes]
    pub fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.net.forward(x)
    }

    /// -E(x) = log sum_y exp f(x)[y]: the log-density of x up to the constant log Z.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    pub fn neg_energy(&self, x: Tensor<2>) -> Tensor<1> {
        let [batch, _] = x.dims();
        // [batch, classes] -> [batch, 1] -> [batch]
        log_sum_exp(self.logits(x), 1).reshape([batch])
    }
}
// ANCHOR_END: model

// ANCHOR: langevin
/// One Langevin step uphill on a log-density known up to a constant, -E(x):
/// x <- x + alpha grad_x(-E(x)) + sigma eps, with the noise eps given. The gradient is taken with
/// respect to x alone; a model's parameters are constants here (give it `model.valid()`).
///
/// # Shapes
/// - x, eps: [batch, D]; neg_energy maps [batch, D] to [batch]
pub fn langevin_step(
    neg_energy: &impl Fn(Tensor<2>) -> Tensor<1>,
    x: Tensor<2>,
    eps: Tensor<2>,
    alpha: f64,
    sigma: f64,
) -> Tensor<2> {
    let tracked = x.inner().autodiff().require_grad();
    let grads = neg_energy(tracked.clone()).sum().backward();
    let gradient = tracked.grad(&grads).expect("x requires its gradient");
    tracked.inner() + gradient * alpha + eps * sigma
}

/// A Langevin chain from x_0 with `steps` steps, each drawing its noise from `noise`. Returns
/// every state, x_0 first.
///
/// # Shapes
/// - x0: [batch, D]; noise(dims) returns [batch, D]
/// - returns: steps + 1 tensors [batch, D]
pub fn langevin_chain(
    neg_energy: &impl Fn(Tensor<2>) -> Tensor<1>,
    x0: Tensor<2>,
    steps: usize,
    alpha: f64,
    sigma: f64,
    mut noise: impl FnMut([usize; 2]) -> Tensor<2>,
) -> Vec<Tensor<2>> {
    let dims = x0.dims();
    let mut states = vec![x0];
    for _ in 0..steps {
        let x = states.last().expect("the chain has a start").clone();
        states.push(langevin_step(neg_energy, x, noise(dims), alpha, sigma));
    }
    states
}
// ANCHOR_END: langevin

/// The model's sampler: Langevin chains of the config's length from uniform noise on
/// [-1, 1]^D, with the device's random numbers.
///
/// # Shapes
/// - returns: langevin_steps + 1 tensors [n, D]
pub fn sample_chains(ebm: &Ebm, n: usize, config: &EbmConfig, device: &Device) -> Vec<Tensor<2>> {
    let x0 = Tensor::random([n, config.dim], Distribution::Uniform(-1.0, 1.0), device);
    let noise = |dims: [usize; 2]| Tensor::random(dims, Distribution::Normal(0.0, 1.0), device);
    let neg_energy = |x| ebm.neg_energy(x);
    langevin_chain(
        &neg_energy,
        x0,
        config.langevin_steps,
        config.step,
        config.noise,
        noise,
    )
}

// ANCHOR: loss
/// The book's loss per image: the classifier's cross-entropy plus the contrastive term
/// -E(x_sample) - (-E(x)), whose gradient is that of -log p(x) with the model's own samples
/// standing in for the expectation under p:
///
/// grad(-log p(x)) = grad E(x) - E_{x' ~ p}[grad E(x')].
///
/// # Shapes
/// - x, samples: [batch, D]; y: [batch]
/// - returns: ([batch] cross-entropy, [batch] contrastive term)
pub fn jem_loss(
    ebm: &Ebm,
    x: Tensor<2>,
    y: Tensor<1, Int>,
    samples: Tensor<2>,
) -> (Tensor<1>, Tensor<1>) {
    let [batch, _] = x.dims();
    let logits = ebm.logits(x);
    let classification = cross_entropy(logits.clone(), y);
    // [batch, classes] -> [batch, 1] -> [batch]
    let data = log_sum_exp(logits, 1).reshape([batch]);
    let generative = ebm.neg_energy(samples.detach()) - data;
    (classification, generative)
}
// ANCHOR_END: loss

/// The training loss of a batch: the batch mean of the book's loss per image ([`jem_loss`]),
/// with the images on the [-1, 1] scale plus fresh noise, against a fresh chain of as many
/// samples from the model as it stands.
///
/// # Shapes
/// - x: [batch, D], values 0..16; y: [batch]
pub fn train_loss(ebm: &Ebm, x: Tensor<2>, y: Tensor<1, Int>, config: &EbmConfig) -> Tensor<1> {
    let [batch, _] = x.dims();
    let device = x.device();
    let noise = Tensor::random(
        x.dims(),
        Distribution::Normal(0.0, config.noise_std),
        &device,
    );
    let x = to_unit_scale(x) + noise;
    let samples = sample_chains(&ebm.valid(), batch, config, &device)
        .pop()
        .expect("a chain ends with its sample");
    let (classification, generative) = jem_loss(ebm, x, y, samples);
    (classification + generative).mean()
}
