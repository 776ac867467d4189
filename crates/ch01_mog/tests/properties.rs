//! The mixture's density against a direct computation and a numerical integral, and its
//! sampler against the components' moments.

use burn::prelude::*;
use burn::tensor::TensorData;
use ch01_mog::config::MogConfig;
use ch01_mog::mog::Mog;
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::testing::{StreamLock, mass_on_square, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(5)
}

fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// A mixture and its parameters in f64: means, log-variances, weights.
type Known = (Mog, [[f64; 2]; 3], [[f64; 2]; 3], [f64; 3]);

/// Three components in 2-D with different means, variances and weights.
fn three_components(device: &Device) -> Known {
    let means = [[0.0, 1.0], [-1.5, 0.5], [2.0, -1.0]];
    let log_vars = [[0.0, -1.0], [0.5, 0.2], [-0.7, 0.3]];
    let logits = [0.3f64, -1.0, 1.2];
    let flat = |a: &[[f64; 2]; 3]| a.iter().flatten().map(|&v| v as f32).collect::<Vec<_>>();
    let mog = Mog::from_parameters(
        tensor(&flat(&means), [3, 2], device),
        tensor(&flat(&log_vars), [3, 2], device),
        Some(tensor(&logits.map(|v| v as f32), [3], device)),
    );
    let total: f64 = logits.iter().map(|w| w.exp()).sum();
    let weights = logits.map(|w| w.exp() / total);
    (mog, means, log_vars, weights)
}

#[test]
fn the_log_density_matches_a_direct_sum_over_components() {
    let (device, _rng) = device();
    let (mog, means, log_vars, weights) = three_components(&device);
    let points = [[0.1f32, 0.2], [-2.0, 1.0], [3.0, -2.5], [10.0, 10.0]];
    let x = tensor(&points.concat(), [4, 2], &device);
    let got = to_host(mog.log_prob(x));
    for (point, log_p) in points.iter().zip(got) {
        // p(x) = sum_k pi_k prod_d N(x_d; mu_kd, sigma_kd^2), in f64
        let p: f64 = (0..3)
            .map(|k| {
                let density: f64 = (0..2)
                    .map(|d| {
                        let var = log_vars[k][d].exp();
                        let z = point[d] as f64 - means[k][d];
                        (-z * z / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
                    })
                    .product();
                weights[k] * density
            })
            .sum();
        assert!(
            (log_p as f64 - p.ln()).abs() < 1e-4 * p.ln().abs().max(1.0),
            "{point:?}: {log_p} vs {}",
            p.ln()
        );
    }
}

#[test]
fn the_density_integrates_to_one() {
    let (device, _rng) = device();
    let (mog, ..) = three_components(&device);
    // Midpoint rule on [-10, 10]^2 with 400 x 400 cells.
    let mass = mass_on_square(10.0, 400, &device, |x| mog.log_prob(x));
    assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
}

#[test]
fn samples_have_the_mixture_moments() {
    let (device, _rng) = device();
    let (mog, means, log_vars, weights) = three_components(&device);
    let n = 40_000;
    let samples = to_host(mog.sample(n));
    for d in 0..2 {
        // E[x_d] = sum_k pi_k mu_kd; E[x_d^2] = sum_k pi_k (sigma_kd^2 + mu_kd^2)
        let mean: f64 = (0..3).map(|k| weights[k] * means[k][d]).sum();
        let second: f64 = (0..3)
            .map(|k| weights[k] * (log_vars[k][d].exp() + means[k][d].powi(2)))
            .sum();
        let got_mean = samples
            .iter()
            .skip(d)
            .step_by(2)
            .map(|&v| v as f64)
            .sum::<f64>()
            / n as f64;
        let got_second = samples
            .iter()
            .skip(d)
            .step_by(2)
            .map(|&v| (v as f64).powi(2))
            .sum::<f64>()
            / n as f64;
        assert!(
            (got_mean - mean).abs() < 0.03,
            "dim {d}: mean {got_mean} vs {mean}"
        );
        assert!(
            (got_second - second).abs() < 0.06,
            "dim {d}: {got_second} vs {second}"
        );
    }
}

#[test]
fn fixed_weights_are_uniform_and_not_parameters() {
    let (device, _rng) = device();
    let fixed = Mog::new(&MogConfig::full(), &device);
    assert_eq!(fixed.num_params(), 3_200);
    let weights = to_host(fixed.log_weights().exp());
    assert!(weights.iter().all(|&w| (w - 0.04).abs() < 1e-6));
    let learned = Mog::new(
        &MogConfig {
            learn_weights: true,
            ..MogConfig::full()
        },
        &device,
    );
    assert_eq!(learned.num_params(), 3_225);
}
