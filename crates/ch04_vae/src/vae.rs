//! The variational auto-encoder (Kingma and Welling, 2014; Rezende et al., 2014) with the
//! book's categorical decoder: an encoder q(z | x), a decoder p(x | z), a prior p(z), trained by
//! maximising the evidence lower bound
//!
//! ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z)) <= log p(x).

use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::data::Split;
use dgm_core::distributions::{
    categorical_mean, log_categorical, log_normal_diag, sample_categorical,
};
use dgm_core::metrics::{bits_per_dim, importance_weighted_log_likelihood, split_mean};
use dgm_core::nn::{Activation, Init, Mlp};

use crate::config::VaeConfig;
use crate::prior::{Prior, gaussian_params};

// ANCHOR: model
/// Encoder MLP D -> M -> M -> 2L (means and log-variances of q(z | x)), decoder MLP
/// L -> M -> M -> D K (the logits of a K-way categorical per pixel), and a prior.
#[derive(Module, Debug)]
pub struct Vae {
    encoder: Mlp,
    decoder: Mlp,
    prior: Prior,
    /// K: values a pixel can take.
    levels: usize,
    /// L: dimensions of z.
    latent: usize,
}

impl Vae {
    pub fn new(config: &VaeConfig, device: &Device) -> Vae {
        let (d, m, l) = (config.dim, config.hidden, config.latent);
        let (leaky, identity) = (Activation::LeakyRelu, Activation::Identity);
        Vae {
            encoder: Mlp::new(&[d, m, m, 2 * l], leaky, identity, Init::PyTorch, device),
            decoder: Mlp::new(
                &[l, m, m, d * config.levels],
                leaky,
                identity,
                Init::PyTorch,
                device,
            ),
            prior: Prior::new(config, device),
            levels: config.levels,
            latent: l,
        }
    }

    /// q(z | x) = N(mu(x), diag exp(log_var(x))). The raw pixel values 0..16 are the input.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: ([batch, L], [batch, L])
    pub fn encode(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        gaussian_params(&self.encoder, x)
    }

    /// The logits of p(x_d | z) for every pixel.
    ///
    /// # Shapes
    /// - z: [batch, L]
    /// - returns: [batch, D, K]
    pub fn decode(&self, z: Tensor<2>) -> Tensor<3> {
        let h = self.decoder.forward(z);
        let [batch, dk] = h.dims();
        // [batch, D K] -> [batch, D, K]
        h.reshape([batch, dk / self.levels, self.levels])
    }

    /// log p(x | z) = sum_d log Cat(x_d | softmax(logits_d(z))).
    ///
    /// # Shapes
    /// - x: [batch, D]; z: [batch, L]
    /// - returns: [batch]
    pub fn log_likelihood(&self, x: Tensor<2>, z: Tensor<2>) -> Tensor<1> {
        log_categorical(x.int(), self.decode(z))
    }

    /// log p(z) under the model's prior.
    ///
    /// # Shapes
    /// - z: [batch, L]
    /// - returns: [batch]
    pub fn log_prior(&self, z: Tensor<2>) -> Tensor<1> {
        self.prior.log_prob(z, &self.encoder)
    }
}
// ANCHOR_END: model

// ANCHOR: elbo
/// z = mu + sigma * eps with eps ~ N(0, I): a sample of q(z | x) that is a differentiable
/// function of mu and log_var (the reparameterisation trick).
pub fn reparameterise(mu: Tensor<2>, log_var: Tensor<2>) -> Tensor<2> {
    let eps = Tensor::random(mu.dims(), Distribution::Normal(0.0, 1.0), &mu.device());
    mu + (log_var * 0.5).exp() * eps
}

impl Vae {
    /// The ELBO with one sample z ~ q(z | x), as in the book:
    ///
    /// ELBO = log p(x | z) - [log q(z | x) - log p(z)],
    ///
    /// the bracket being a one-sample estimate of KL(q || p) that works for any prior.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    pub fn elbo(&self, x: Tensor<2>) -> Tensor<1> {
        let (mu, log_var) = self.encode(x.clone());
        let z = reparameterise(mu.clone(), log_var.clone());
        let reconstruction = self.log_likelihood(x, z.clone());
        let kl = log_normal_diag(z.clone(), mu, log_var) - self.log_prior(z);
        reconstruction - kl
    }

    /// The training loss: the batch mean of -ELBO.
    pub fn loss(&self, x: Tensor<2>) -> Tensor<1> {
        self.elbo(x).neg().mean()
    }
}
// ANCHOR_END: elbo

// ANCHOR: iw
impl Vae {
    /// The importance-weighted estimate of log p(x) with K samples z_k ~ q(z | x):
    ///
    /// log p(x) ~ log 1/K sum_k p(x | z_k) p(z_k) / q(z_k | x).
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    pub fn iw_log_likelihood(&self, x: Tensor<2>, k: usize) -> Tensor<1> {
        let [batch, dim] = x.dims();
        let (mu, log_var) = self.encode(x.clone());
        let [_, latent] = mu.dims();
        // Every image and its posterior K times: [batch, .] -> [batch, K, .] -> [batch K, .]
        let repeat = |t: Tensor<2>, width: usize| {
            t.unsqueeze_dim::<3>(1)
                .repeat_dim(1, k)
                .reshape([batch * k, width])
        };
        let (x, mu, log_var) = (repeat(x, dim), repeat(mu, latent), repeat(log_var, latent));
        let z = reparameterise(mu.clone(), log_var.clone());
        let log_w = self.log_likelihood(x, z.clone()) + self.log_prior(z.clone())
            - log_normal_diag(z, mu, log_var);
        // [batch K] -> [batch, K]
        importance_weighted_log_likelihood(log_w.reshape([batch, k]))
    }
}
// ANCHOR_END: iw

// ANCHOR: sample
impl Vae {
    /// x ~ p(x | z) with z ~ p(z): a prior draw, then every pixel from its categorical.
    ///
    /// # Shapes
    /// - returns: [n, D], values 0..K-1 as floats
    pub fn sample(&self, n: usize, device: &Device) -> Tensor<2> {
        let z = self.prior.sample(n, self.latent, &self.encoder, device);
        let logits = self.decode(z);
        sample_categorical(logits)
    }

    /// The expected pixel values E[x | z] = sum_k k p(x_d = k | z): the decoder's picture of z,
    /// without the noise of sampling.
    ///
    /// # Shapes
    /// - z: [n, L]
    /// - returns: [n, D]
    pub fn mean_image(&self, z: Tensor<2>) -> Tensor<2> {
        categorical_mean(self.decode(z))
    }
}
// ANCHOR_END: sample

/// A latent-variable model evaluated by its ELBO and by importance weighting: the VAE, and
/// chapter 5's hierarchical VAE.
pub trait VariationalBound {
    /// One-sample ELBO per image.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    fn elbo(&self, x: Tensor<2>) -> Tensor<1>;
    /// The importance-weighted estimate of log p(x) with `k` samples per image.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch]
    fn iw_log_likelihood(&self, x: Tensor<2>, k: usize) -> Tensor<1>;
}

impl VariationalBound for Vae {
    fn elbo(&self, x: Tensor<2>) -> Tensor<1> {
        Vae::elbo(self, x)
    }

    fn iw_log_likelihood(&self, x: Tensor<2>, k: usize) -> Tensor<1> {
        Vae::iw_log_likelihood(self, x, k)
    }
}

/// Images per batch of the importance-weighted estimate (each is repeated K times).
const IW_BATCH: usize = 8;

/// -ELBO averaged over a split (one sample of z per image, as in the book): an upper bound on
/// the NLL, nats per image.
pub fn neg_elbo(
    model: &impl VariationalBound,
    split: &Split,
    batch_size: usize,
    device: &Device,
) -> f64 {
    split_mean(split, batch_size, device, |x| model.elbo(x).neg())
}

/// The importance-weighted NLL estimate with `k` samples per image, averaged over a split.
pub fn nll_iw(model: &impl VariationalBound, split: &Split, k: usize, device: &Device) -> f64 {
    split_mean(split, IW_BATCH, device, |x| {
        model.iw_log_likelihood(x, k).neg()
    })
}

/// What a variational model reports of the test split: `test_neg_elbo` (the bound, one sample
/// of z per image), `test_nll_iw` (the estimate with `k` importance samples per image) and
/// `test_bpd` of the latter.
pub fn test_bound_metrics(
    model: &impl VariationalBound,
    test: &Split,
    batch_size: usize,
    k: usize,
    device: &Device,
) -> [(&'static str, f64); 3] {
    let test_neg_elbo = neg_elbo(model, test, batch_size, device);
    let test_nll_iw = nll_iw(model, test, k, device);
    [
        ("test_neg_elbo", test_neg_elbo),
        ("test_nll_iw", test_nll_iw),
        ("test_bpd", bits_per_dim(test_nll_iw, test.dim)),
    ]
}
