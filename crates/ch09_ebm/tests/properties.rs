//! Langevin dynamics on a known density, and the loss's two terms against direct computations.

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use ch09_ebm::config::EbmConfig;
use ch09_ebm::ebm::{Ebm, jem_loss, langevin_chain, langevin_step};
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::testing::{StreamLock, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(3)
}

/// log N(x; 0, I) up to a constant: -|x|^2 / 2, whose gradient is -x.
fn standard_normal(x: Tensor<2>) -> Tensor<1> {
    let [batch, _] = x.dims();
    (x.powi_scalar(2).sum_dim(1) * -0.5).reshape([batch])
}

#[test]
fn a_noiseless_step_on_a_gaussian_moves_every_point_towards_the_mode() {
    let (device, _rng) = device();
    let x = Tensor::<2>::random([32, 8], Distribution::Normal(3.0, 1.0), &device);
    let zero = x.zeros_like();
    let stepped = langevin_step(&standard_normal, x.clone(), zero, 0.1, 0.0);
    // x + 0.1 (-x) = 0.9 x
    for (got, want) in to_host(stepped).iter().zip(to_host(x * 0.9)) {
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}

#[test]
fn noisy_chains_on_a_gaussian_reach_its_mean_and_spread() {
    let (device, _rng) = device();
    // With step alpha and noise sigma = sqrt(2 alpha), Langevin samples N(0, I) up to the
    // step's bias: x <- (1 - alpha) x + sqrt(2 alpha) eps has the stationary variance
    // 2 alpha / (1 - (1 - alpha)^2) = 1 / (1 - alpha / 2).
    let alpha = 0.05;
    let x0 = Tensor::<2>::random([4000, 2], Distribution::Uniform(4.0, 6.0), &device);
    let noise = |dims: [usize; 2]| Tensor::random(dims, Distribution::Normal(0.0, 1.0), &device);
    let chain = langevin_chain(
        &standard_normal,
        x0,
        300,
        alpha,
        (2.0 * alpha).sqrt(),
        noise,
    );
    let last = to_host(chain.last().unwrap().clone());
    let n = last.len() as f64;
    let mean = last.iter().map(|&v| v as f64).sum::<f64>() / n;
    let variance = last.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let stationary = 1.0 / (1.0 - alpha / 2.0);
    assert!(mean.abs() < 0.05, "mean {mean}");
    assert!(
        (variance - stationary).abs() < 0.06,
        "variance {variance} vs {stationary}"
    );
}

#[test]
fn the_loss_terms_match_their_definitions() {
    let (device, _rng) = device();
    let config = EbmConfig {
        hidden: 16,
        ..EbmConfig::full()
    };
    let ebm = Ebm::new(&config, &device);
    let x = Tensor::<2>::random([5, 64], Distribution::Uniform(-1.0, 1.0), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 3, 9, 3, 1], [5]), &device);
    // Samples equal to the data: the contrastive term is exactly zero.
    let (ce, generative) = jem_loss(&ebm, x.clone(), y, x.clone());
    assert!(to_host(generative).iter().all(|&g| g == 0.0));
    // Cross-entropy and -E(x) from the logits by hand.
    let logits = to_host(ebm.logits(x.clone()));
    let neg_energy = to_host(ebm.neg_energy(x));
    for (i, (row, label)) in logits.chunks(10).zip([0usize, 3, 9, 3, 1]).enumerate() {
        let lse = row.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
        assert!((neg_energy[i] as f64 - lse).abs() < 1e-5);
        let want = lse - row[label] as f64;
        assert!((to_host(ce.clone())[i] as f64 - want).abs() < 1e-5);
    }
}

#[test]
fn the_network_has_the_book_size() {
    let (device, _rng) = device();
    assert_eq!(Ebm::new(&EbmConfig::full(), &device).num_params(), 563_722);
}
