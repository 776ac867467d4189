//! The properties that make the models VAEs: the ELBO bounds log p(x) from below, the
//! importance-weighted estimate tightens towards it, and every prior is a density.

use burn::prelude::*;
use burn::tensor::TensorData;
use ch04_vae::config::{PriorKind, VaeConfig};
use ch04_vae::vae::Vae;
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::distributions::log_standard_normal;
use dgm_core::testing::{StreamLock, mass_on_square, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(11)
}

/// A VAE small enough to integrate: 3 pixels of 4 levels, a 1-D latent, N(0, 1) prior.
fn tiny() -> VaeConfig {
    VaeConfig {
        dim: 3,
        levels: 4,
        hidden: 8,
        latent: 1,
        ..VaeConfig::full()
    }
}

/// log p(x) = log integral p(x | z) N(z; 0, 1) dz by the midpoint rule on [-10, 10].
fn exact_log_p(model: &Vae, x: &[f32], device: &Device) -> f64 {
    let steps = 4000;
    let h = 20.0 / steps as f32;
    let z: Vec<f32> = (0..steps).map(|i| -10.0 + (i as f32 + 0.5) * h).collect();
    let z = Tensor::<2>::from_data(TensorData::new(z, [steps, 1]), device);
    let xs: Vec<f32> = (0..steps).flat_map(|_| x.iter().copied()).collect();
    let xs = Tensor::<2>::from_data(TensorData::new(xs, [steps, x.len()]), device);
    let log_joint = to_host(model.log_likelihood(xs, z.clone()) + log_standard_normal(z));
    let max = log_joint.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let sum: f64 = log_joint.iter().map(|&v| (v as f64 - max).exp()).sum();
    max + (sum * h as f64).ln()
}

/// The same image `n` times.
fn repeated(x: &[f32], n: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..n).flat_map(|_| x.iter().copied()).collect();
    Tensor::from_data(TensorData::new(values, [n, x.len()]), device)
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64
}

// ANCHOR: bound
#[test]
fn the_elbo_is_below_log_p_and_importance_weighting_closes_the_gap() {
    let (device, _rng) = device();
    let model = Vae::new(&tiny(), &device);
    for x in [[0.0f32, 3.0, 1.0], [2.0, 2.0, 0.0]] {
        let log_p = exact_log_p(&model, &x, &device);
        // E_q[ELBO] from 20,000 draws: below log p(x) by KL(q(z | x) || p(z | x)).
        let elbo = mean(&to_host(model.elbo(repeated(&x, 20_000, &device))));
        assert!(elbo < log_p, "ELBO {elbo} is not below log p(x) = {log_p}");
        // The importance-weighted estimate, averaged over 200 repetitions, rises with K
        // (1, 10, 100) and reaches log p(x) at K = 1000, where the rest is Monte Carlo noise.
        let estimates: Vec<f64> = [1, 10, 100, 1000]
            .iter()
            .map(|&k| {
                mean(&to_host(
                    model.iw_log_likelihood(repeated(&x, 200, &device), k),
                ))
            })
            .collect();
        for pair in estimates[..3].windows(2) {
            assert!(pair[0] < pair[1], "not tightening with K: {estimates:?}");
        }
        assert!(
            elbo < estimates[1],
            "K = 10 is not above the ELBO: {estimates:?}"
        );
        let gap = log_p - estimates[3];
        assert!(
            (-0.01..0.02).contains(&gap),
            "K = 1000 is {gap} below log p(x) = {log_p}"
        );
    }
}
// ANCHOR_END: bound

// ANCHOR: priors
#[test]
fn every_prior_integrates_to_one_in_two_dimensions() {
    let (device, _rng) = device();
    for prior in [
        PriorKind::Standard,
        PriorKind::Mog,
        PriorKind::Vampprior,
        PriorKind::Flow,
    ] {
        let config = VaeConfig {
            hidden: 16,
            ..VaeConfig::full().with_prior(prior)
        };
        let model = Vae::new(&config, &device);
        let mass = mass_on_square(30.0, 600, &device, |z| model.log_prior(z));
        assert!(
            (mass - 1.0).abs() < 1e-2,
            "{prior:?}: the prior's mass is {mass}"
        );
    }
}
// ANCHOR_END: priors

#[test]
fn the_book_sizes() {
    let (device, _rng) = device();
    assert_eq!(Vae::new(&VaeConfig::full(), &device).num_params(), 440_416);
    let vamp = VaeConfig::full().with_prior(PriorKind::Vampprior);
    assert_eq!(Vae::new(&vamp, &device).num_params(), 430_676);
}
