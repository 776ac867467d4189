//! The probability path, the SDE, the losses' minimisers and the ODE likelihood against closed
//! forms.

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use ch07_score::config::{FmConfig, SbgmConfig, SmConfig};
use ch07_score::fm::{path_point, path_velocity, vector_field};
use ch07_score::ode::{Field, linspace, ode_log_likelihood};
use ch07_score::sbgm::{ProbabilityFlow, VeSde, denoising_loss_at};
use ch07_score::sm::{dsm_loss_at, langevin_step};
use ch07_score::{sbgm, sm};
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::distributions::log_standard_normal;
use dgm_core::testing::{StreamLock, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(9)
}

fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    to_host(a)
        .iter()
        .zip(to_host(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn the_path_starts_at_noise_ends_at_the_data_and_has_the_target_velocity() {
    let (device, _rng) = device();
    let sigma = 0.1;
    let x1 = Tensor::<2>::random([16, 64], Distribution::Uniform(-1.0, 1.0), &device);
    let eps = Tensor::<2>::random([16, 64], Distribution::Normal(0.0, 1.0), &device);
    let at = |t: f64| Tensor::<2>::full([16, 1], t, &device);
    // x_0 = eps and x_1 = x_1 + sigma eps.
    assert!(
        max_abs_diff(
            path_point(x1.clone(), eps.clone(), at(0.0), sigma),
            eps.clone()
        ) < 1e-6
    );
    let end = x1.clone() + eps.clone() * sigma;
    assert!(max_abs_diff(path_point(x1.clone(), eps.clone(), at(1.0), sigma), end) < 1e-6);
    // The path is a straight line with velocity x_1 - (1 - sigma) eps; the target, computed
    // from x_t alone, equals it at t = 0, t = 1 and in between.
    let velocity = x1.clone() - eps.clone() * (1.0 - sigma);
    for t in [0.0, 0.37, 1.0] {
        let x_t = path_point(x1.clone(), eps.clone(), at(t), sigma);
        let target = path_velocity(x1.clone(), x_t, at(t), sigma);
        assert!(max_abs_diff(target, velocity.clone()) < 1e-4, "t = {t}");
    }
}

/// v(x, t) = a x: its flow is x_t = x_0 e^(a t), so N(0, I) at t = 0 becomes N(0, e^(2a) I) at
/// t = 1, and div v = a D at every point.
struct Expanding(f64);

impl Field for Expanding {
    fn velocity(&self, x: Tensor<2>, _t: Tensor<2>) -> Tensor<2> {
        x * self.0
    }
}

// ANCHOR: ode
#[test]
fn the_ode_likelihood_of_a_linear_field_matches_the_gaussian_it_makes() {
    let (device, _rng) = device();
    let device = device.autodiff();
    let (a, dim) = (0.5f64, 4usize);
    let x1 = Tensor::<2>::from_data(
        TensorData::new(vec![0.3f32, -1.2, 2.0, 0.0, 1.0, 1.0, -0.5, 0.7], [2, dim]),
        &device,
    );
    // From the data at t = 1 back to N(0, I) at t = 0.
    let ts = linspace(1.0, 0.0, 2001);
    let got = to_host(ode_log_likelihood(
        &Expanding(a),
        x1.clone(),
        &ts,
        log_standard_normal,
    ));
    // log N(x; 0, e^(2a) I) = -D/2 ln(2 pi) - D a - |x|^2 / (2 e^(2a))
    for (row, log_p) in to_host(x1).chunks(dim).zip(got) {
        let squared: f64 = row.iter().map(|&v| (v as f64).powi(2)).sum();
        let exact = -0.5 * dim as f64 * (2.0 * std::f64::consts::PI).ln()
            - dim as f64 * a
            - squared / (2.0 * (2.0 * a).exp());
        assert!((log_p as f64 - exact).abs() < 2e-3, "{log_p} vs {exact}");
    }
}
// ANCHOR_END: ode

#[test]
fn the_field_has_the_book_size() {
    let (device, _rng) = device();
    assert_eq!(
        vector_field(&FmConfig::full(), &device).num_params(),
        591_552
    );
    assert_eq!(
        sbgm::score_net(&SbgmConfig::full(), &device).num_params(),
        591_552
    );
    assert_eq!(
        sm::score_net(&SmConfig::full(), &device).num_params(),
        591_424
    );
}

/// The mean of a [n] tensor.
fn mean(x: Tensor<1>) -> f64 {
    let values = to_host(x);
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64
}

#[test]
fn the_ve_sde_variance_is_the_integral_of_the_squared_diffusion() {
    let (device, _rng) = device();
    let sde = VeSde { sigma: 25.0 };
    for t in [0.0f64, 0.3, 1.0] {
        let std = to_host(sde.marginal_std(Tensor::<1>::full([1], t, &device)))[0] as f64;
        // sigma_t^2 = integral_0^t sigma^(2s) ds by the midpoint rule.
        let n = 10_000;
        let integral: f64 = (0..n)
            .map(|i| sde.sigma.powf(2.0 * (i as f64 + 0.5) * t / n as f64) * t / n as f64)
            .sum();
        assert!(
            (std * std - integral).abs() < 1e-3 * integral.max(1.0),
            "t = {t}"
        );
        if t == 1.0 {
            assert!((std * std - sde.base_variance()).abs() < 1e-3 * integral);
        }
    }
}

/// Data x_0 ~ N(0, s0^2 I) noised by the VE SDE is N(0, (s0^2 + sigma_t^2) I) at time t, with
/// the score -x / (s0^2 + sigma_t^2).
struct GaussianScore {
    data_variance: f64,
    sde: VeSde,
    /// Multiplies the score: 1 is the true one.
    scale: f64,
}

impl GaussianScore {
    fn variance(&self, t: Tensor<2>) -> Tensor<2> {
        self.sde.marginal_std(t).powi_scalar(2) + self.data_variance
    }
}

impl Field for GaussianScore {
    fn velocity(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        x.neg() / self.variance(t) * self.scale
    }
}

/// `loss` of a score scaled by 1, the true one, is below its values at the scales -1, 0.5 and
/// 1.5: the wrong direction, too small and too large.
fn assert_smallest_at_the_true_score(loss: impl Fn(f64) -> f64) {
    let best = loss(1.0);
    for scale in [-1.0, 0.5, 1.5] {
        let wrong = loss(scale);
        assert!(best < wrong, "scale {scale}: {wrong} vs {best}");
    }
}

#[test]
fn the_true_score_minimises_the_weighted_denoising_loss() {
    let (device, _rng) = device();
    let sde = VeSde { sigma: 25.0 };
    let (n, dim) = (4096, 8);
    let x0 = Tensor::<2>::random([n, dim], Distribution::Normal(0.0, 0.5), &device);
    let t = Tensor::<2>::random([n, 1], Distribution::Uniform(0.01, 1.0), &device);
    let eps = Tensor::<2>::random([n, dim], Distribution::Normal(0.0, 1.0), &device);
    let loss = |scale: f64| {
        let score = GaussianScore {
            data_variance: 0.25,
            sde,
            scale,
        };
        mean(denoising_loss_at(
            &score,
            sde,
            x0.clone(),
            t.clone(),
            eps.clone(),
        ))
    };
    assert_smallest_at_the_true_score(loss);
}

#[test]
fn the_blurred_score_minimises_the_denoising_score_matching_loss() {
    let (device, _rng) = device();
    let (n, dim, sigma, data_variance) = (4096, 8, 0.1, 0.25);
    let x = Tensor::<2>::random([n, dim], Distribution::Normal(0.0, 0.5), &device);
    let eps = Tensor::<2>::random([n, dim], Distribution::Normal(0.0, 1.0), &device);
    // x~ ~ N(0, (s0^2 + sigma^2) I): the book's network learns sigma times its score.
    let loss = |scale: f64| {
        let score =
            |noisy: Tensor<2>| noisy.neg() * (scale * sigma / (data_variance + sigma * sigma));
        mean(dsm_loss_at(score, x.clone(), eps.clone(), sigma))
    };
    assert_smallest_at_the_true_score(loss);
}

#[test]
fn a_noiseless_langevin_step_climbs_a_gaussian_towards_its_mode() {
    let (device, _rng) = device();
    let x = Tensor::<2>::random([64, 8], Distribution::Normal(3.0, 1.0), &device);
    // log N(x; 0, I) has the score -x: each step moves x a tenth of the way to 0.
    let stepped = langevin_step(|x| x.neg(), x.clone(), 0.1, 0.0);
    assert!(max_abs_diff(stepped, x * 0.9) < 1e-6);
}

// ANCHOR: probability_flow
#[test]
fn the_probability_flow_likelihood_of_gaussian_data_matches_its_density() {
    let (device, _rng) = device();
    let device = device.autodiff();
    let sde = VeSde { sigma: 25.0 };
    let score = GaussianScore {
        data_variance: 0.25,
        sde,
        scale: 1.0,
    };
    let dim = 4;
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.3f32, -0.2, 0.9, 0.0, 0.5, 0.1, -0.7, 0.4], [2, dim]),
        &device,
    );
    // Data at t = 0 (no noise yet), noise at t = 1, where x_1 ~ N(0, (s0^2 + sigma_1^2) I).
    let end_variance = 0.25 + sde.base_variance();
    let log_end = |x1: Tensor<2>| {
        log_standard_normal(x1 / end_variance.sqrt()) - 0.5 * dim as f64 * end_variance.ln()
    };
    let ts = linspace(0.0, 1.0, 4001);
    let flow = ProbabilityFlow { score: &score, sde };
    let got = to_host(ode_log_likelihood(&flow, x.clone(), &ts, log_end));
    // log N(x; 0, s0^2 I)
    for (row, log_p) in to_host(x).chunks(dim).zip(got) {
        let squared: f64 = row.iter().map(|&v| (v as f64).powi(2)).sum();
        let exact = -0.5 * dim as f64 * (2.0 * std::f64::consts::PI * 0.25).ln() - squared / 0.5;
        assert!((log_p as f64 - exact).abs() < 1e-2, "{log_p} vs {exact}");
    }
}
// ANCHOR_END: probability_flow
