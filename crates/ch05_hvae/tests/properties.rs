//! The properties of the hierarchical VAE: its size, its bound, and the closed-form KL it uses.

use burn::prelude::*;
use burn::tensor::Distribution;
use ch05_hvae::config::HvaeConfig;
use ch05_hvae::hvae::Hvae;
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::testing::{StreamLock, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(3)
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64
}

#[test]
fn the_book_size_without_batchnorm_statistics() {
    let (device, _rng) = device();
    assert_eq!(
        Hvae::new(&HvaeConfig::full(), &device).parameters(),
        721_808
    );
}

// ANCHOR: bound
#[test]
fn importance_weighting_tightens_the_bound_of_the_hierarchy() {
    let (device, _rng) = device();
    let config = HvaeConfig {
        hidden: 32,
        ..HvaeConfig::full()
    };
    let model = Hvae::new(&config, &device).valid();
    let x = Tensor::<2>::random([1, 64], Distribution::Uniform(0.0, 17.0), &device).floor();
    let x = x.repeat_dim(0, 100);
    // The ELBO with analytic KLs, averaged, and the IW estimates for growing K.
    let elbo = mean(&to_host(model.elbo(x.clone())));
    let estimates: Vec<f64> = [1, 10, 100]
        .iter()
        .map(|&k| mean(&to_host(model.iw_log_likelihood(x.clone(), k))))
        .collect();
    for pair in estimates.windows(2) {
        assert!(pair[0] < pair[1], "not tightening with K: {estimates:?}");
    }
    // K = 1 is a one-sample ELBO with Monte Carlo KLs: the same bound as the analytic one.
    assert!(
        (estimates[0] - elbo).abs() < 0.02 * elbo.abs(),
        "{estimates:?} vs ELBO {elbo}"
    );
    assert!(
        estimates[2] > elbo,
        "IW with K = 100 ({}) is not above the ELBO ({elbo})",
        estimates[2]
    );
}
// ANCHOR_END: bound
