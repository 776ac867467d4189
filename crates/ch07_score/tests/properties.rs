//! The probability path and the ODE likelihood against closed forms.

use std::sync::{Mutex, MutexGuard};

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use ch07_score::config::FmConfig;
use ch07_score::fm::{Field, VectorField, ode_log_likelihood, path_point, path_velocity};
use dgm_core::cli::Preset;
use dgm_core::data::to_host;

static RNG: Mutex<()> = Mutex::new(());

fn device() -> (Device, MutexGuard<'static, ()>) {
    let guard = RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    device.seed(9);
    (device, guard)
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
    let got = to_host(ode_log_likelihood(&Expanding(a), x1.clone(), 2001));
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
        VectorField::new(&FmConfig::full(), &device).num_params(),
        591_552
    );
}
