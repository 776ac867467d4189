//! Priors p(z) for the VAE: the standard normal, a mixture of Gaussians, the VampPrior and a
//! flow. Each gives log p(z) per example and draws samples.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{log_softmax, softmax};
use ch03_flows::config::FlowConfig;
use ch03_flows::realnvp::RealNvp;
use dgm_core::distributions::{log_normal_diag, log_standard_normal, log_sum_exp};
use dgm_core::nn::{Activation, Init, Mlp};

use crate::config::{PriorKind, VaeConfig};

/// The encoder's Gaussian q(z | x): means and log-variances.
///
/// # Shapes
/// - returns: ([batch, L], [batch, L])
pub fn gaussian_params(encoder: &Mlp, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let h = encoder.forward(x);
    let [batch, two_l] = h.dims();
    let latent = two_l / 2;
    let mu = h.clone().slice([0..batch, 0..latent]);
    let log_var = h.slice([0..batch, latent..two_l]);
    (mu, log_var)
}

// ANCHOR: mixture
/// log p(z) of a mixture of K Gaussians over the whole latent vector:
///
/// log p(z) = log sum_k w_k N(z; mu_k, diag var_k), w = softmax(logits).
///
/// # Shapes
/// - z: [batch, L]; means, log_vars: [K, L]; logits: [K]
/// - returns: [batch]
pub fn mixture_log_prob(
    z: Tensor<2>,
    means: Tensor<2>,
    log_vars: Tensor<2>,
    logits: Tensor<1>,
) -> Tensor<1> {
    let [batch, latent] = z.dims();
    let [k, _] = means.dims();
    // Every z against every component: [batch, L] -> [batch, K, L] -> [batch * K, L].
    let z = z
        .unsqueeze_dim::<3>(1)
        .repeat_dim(1, k)
        .reshape([batch * k, latent]);
    let tile = |t: Tensor<2>| {
        t.unsqueeze_dim::<3>(0)
            .repeat_dim(0, batch)
            .reshape([batch * k, latent])
    };
    // [batch * K] -> [batch, K]
    let log_component = log_normal_diag(z, tile(means), tile(log_vars)).reshape([batch, k]);
    // [K] -> [1, K]
    let log_weights = log_softmax(logits, 0).unsqueeze_dim(0);
    // [batch, K] -> [batch, 1] -> [batch]
    log_sum_exp(log_component + log_weights, 1).reshape([batch])
}

/// n draws from the same mixture: a component k ~ w, then z = mu_k + sqrt(var_k) eps.
///
/// # Shapes
/// - returns: [n, L]
pub fn mixture_sample(
    n: usize,
    means: Tensor<2>,
    log_vars: Tensor<2>,
    logits: Tensor<1>,
) -> Tensor<2> {
    let [_, latent] = means.dims();
    let device = means.device();
    // [K] -> [n, K] -> component indices [n, 1]
    let weights = softmax(logits, 0).unsqueeze_dim::<2>(0).repeat_dim(0, n);
    let component = weights.categorical(1).reshape([n]);
    let mu = means.select(0, component.clone());
    let sd = (log_vars.select(0, component) * 0.5).exp();
    mu + sd * Tensor::random([n, latent], Distribution::Normal(0.0, 1.0), &device)
}
// ANCHOR_END: mixture

/// N(0, I): nothing to learn.
#[derive(Module, Debug)]
pub struct StandardPrior {
    latent: usize,
}

/// A mixture of K Gaussians with learnable means, log-variances and weights.
#[derive(Module, Debug)]
pub struct MogPrior {
    means: Param<Tensor<2>>,
    log_vars: Param<Tensor<2>>,
    logits: Param<Tensor<1>>,
}

/// The VampPrior (Tomczak and Welling, 2018): p(z) = 1/K sum_k q(z | u_k) with learnable
/// pseudo-inputs u_k passed through the VAE's own encoder, and learnable weights.
#[derive(Module, Debug)]
pub struct VampPrior {
    /// u_k: [K, D], starting uniform on [0, 17) like the data's range.
    pseudo_inputs: Param<Tensor<2>>,
    logits: Param<Tensor<1>>,
}

/// The prior of a VAE; one variant per [`PriorKind`].
#[derive(Module, Debug)]
pub enum Prior {
    Standard(StandardPrior),
    Mog(MogPrior),
    Vamp(VampPrior),
    Flow(RealNvp),
}

impl Prior {
    pub fn new(config: &VaeConfig, device: &Device) -> Prior {
        let (k, latent) = (config.components, config.latent);
        match config.prior {
            PriorKind::Standard => Prior::Standard(StandardPrior { latent }),
            PriorKind::Mog => Prior::Mog(MogPrior {
                means: Param::from_tensor(Tensor::random(
                    [k, latent],
                    Distribution::Normal(0.0, 1.0),
                    device,
                )),
                log_vars: Param::from_tensor(Tensor::zeros([k, latent], device)),
                logits: Param::from_tensor(Tensor::zeros([k], device)),
            }),
            PriorKind::Vampprior => Prior::Vamp(VampPrior {
                pseudo_inputs: Param::from_tensor(Tensor::random(
                    [k, config.dim],
                    Distribution::Uniform(0.0, config.levels as f64),
                    device,
                )),
                logits: Param::from_tensor(Tensor::zeros([k], device)),
            }),
            PriorKind::Flow => Prior::Flow(RealNvp::new(
                &FlowConfig {
                    dim: latent,
                    couplings: config.flow_couplings,
                    hidden: config.hidden,
                    hidden_layers: 2,
                    activation: Activation::LeakyRelu,
                    init: Init::PyTorch,
                },
                device,
            )),
        }
    }

    // ANCHOR: log_prob
    /// log p(z) per example. The VampPrior's components are the encoder's posteriors of its
    /// pseudo-inputs, so it needs the encoder.
    ///
    /// # Shapes
    /// - z: [batch, L]
    /// - returns: [batch]
    pub fn log_prob(&self, z: Tensor<2>, encoder: &Mlp) -> Tensor<1> {
        match self {
            Prior::Standard(_) => log_standard_normal(z),
            Prior::Mog(mog) => {
                mixture_log_prob(z, mog.means.val(), mog.log_vars.val(), mog.logits.val())
            }
            Prior::Vamp(vamp) => {
                let (means, log_vars) = gaussian_params(encoder, vamp.pseudo_inputs.val());
                mixture_log_prob(z, means, log_vars, vamp.logits.val())
            }
            Prior::Flow(flow) => flow.log_prob(z),
        }
    }
    // ANCHOR_END: log_prob

    /// n draws z ~ p(z).
    ///
    /// # Shapes
    /// - returns: [n, L]
    pub fn sample(&self, n: usize, latent: usize, encoder: &Mlp, device: &Device) -> Tensor<2> {
        match self {
            Prior::Standard(standard) => {
                Tensor::random([n, standard.latent], Distribution::Normal(0.0, 1.0), device)
            }
            Prior::Mog(mog) => {
                mixture_sample(n, mog.means.val(), mog.log_vars.val(), mog.logits.val())
            }
            Prior::Vamp(vamp) => {
                let (means, log_vars) = gaussian_params(encoder, vamp.pseudo_inputs.val());
                mixture_sample(n, means, log_vars, vamp.logits.val())
            }
            Prior::Flow(flow) => flow.sample(n, latent, device),
        }
    }
}
