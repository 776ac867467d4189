//! The properties that make the models flows: invertibility, the log-determinant, integers to
//! integers.

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use ch03_flows::config::{FlowConfig, IdfConfig, RealNvpConfig};
use ch03_flows::experiment::realnvp::{dequantize, discrete_nll_bound};
use ch03_flows::idf::{Idf, round_straight_through};
use ch03_flows::realnvp::{AffineCoupling, RealNvp};
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::nn::{Activation, Init};
use dgm_core::testing::{StreamLock, mass_on_square, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(7)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn small_flow(dim: usize) -> FlowConfig {
    FlowConfig {
        dim,
        couplings: 3,
        hidden: 8,
        hidden_layers: 2,
        activation: Activation::LeakyRelu,
        init: Init::PyTorch,
    }
}

// ANCHOR: invertible
#[test]
fn every_coupling_and_the_whole_flow_invert() {
    let (device, _rng) = device();
    let config = RealNvpConfig::full().flow;
    // Digit-like inputs on the 0..17 scale.
    let x = Tensor::<2>::random([32, config.dim], Distribution::Uniform(0.0, 17.0), &device);
    let coupling = AffineCoupling::new(&config, &device);
    let (y, _) = coupling.forward(x.clone());
    let back = coupling.inverse(y);
    let error = max_abs_diff(&to_host(back), &to_host(x.clone()));
    assert!(error < 1e-4, "coupling: |x - f^-1(f(x))| = {error}");

    // Through 8 layers float32 rounding grows with the size of the values (up to 17 here):
    // the whole flow is held to 1e-4 of that scale, still far below what a wrong sign, scale
    // or order would give.
    let flow = RealNvp::new(&config, &device);
    let (z, _) = flow.forward(x.clone());
    let error = max_abs_diff(&to_host(flow.inverse(z)), &to_host(x));
    assert!(error < 1e-4 * 17.0, "flow: |x - f^-1(f(x))| = {error}");

    // On inputs of the latent's scale, N(0, I), within 1e-4.
    let x = Tensor::<2>::random([32, config.dim], Distribution::Normal(0.0, 1.0), &device);
    let (z, _) = flow.forward(x.clone());
    let error = max_abs_diff(&to_host(flow.inverse(z)), &to_host(x));
    assert!(error < 1e-4, "flow on N(0, I): |x - f^-1(f(x))| = {error}");
}
// ANCHOR_END: invertible

/// log |det J| of a square matrix in f64, by LU decomposition with partial pivoting.
fn log_abs_det(mut a: Vec<Vec<f64>>) -> f64 {
    let n = a.len();
    let mut log_det = 0.0;
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        log_det += a[col][col].abs().ln();
        let pivot_row = a[col].clone();
        for row in a.iter_mut().skip(col + 1) {
            let factor = row[col] / pivot_row[col];
            for (value, pivot) in row.iter_mut().zip(&pivot_row).skip(col) {
                *value -= factor * pivot;
            }
        }
    }
    log_det
}

// ANCHOR: log_det
#[test]
fn the_log_determinant_equals_that_of_the_autodiff_jacobian() {
    for dim in [4, 5] {
        let (device, _rng) = device();
        let device = device.autodiff();
        let flow = RealNvp::new(&small_flow(dim), &device);
        let x = Tensor::<2>::random([1, dim], Distribution::Normal(0.0, 2.0), &device);
        // Row i of the Jacobian: the gradient of z_i with respect to x.
        let jacobian: Vec<Vec<f64>> = (0..dim)
            .map(|i| {
                let x = x.clone().detach().require_grad();
                let (z, _) = flow.forward(x.clone());
                let grads = z.slice([0..1, i..i + 1]).sum().backward();
                let row = x.grad(&grads).expect("x requires its gradient");
                to_host(row).into_iter().map(f64::from).collect()
            })
            .collect();
        let (_, log_det) = flow.forward(x);
        let claimed = to_host(log_det)[0] as f64;
        let brute_force = log_abs_det(jacobian);
        assert!(
            (claimed - brute_force).abs() < 1e-4,
            "D = {dim}: the flow says {claimed}, the Jacobian gives {brute_force}"
        );
    }
}
// ANCHOR_END: log_det

#[test]
fn the_flow_density_integrates_to_one_in_two_dimensions() {
    let (device, _rng) = device();
    let flow = RealNvp::new(&small_flow(2), &device);
    // Midpoint rule on [-10, 10]^2; the flow is near the identity at initialisation, so
    // almost all of the mass lies inside.
    let mass = mass_on_square(10.0, 400, &device, |x| flow.log_prob(x));
    assert!((mass - 1.0).abs() < 1e-3, "integral of p(x) = {mass}");
}

// ANCHOR: integer
#[test]
fn the_integer_flow_maps_integers_to_integers_and_inverts_exactly() {
    let (device, _rng) = device();
    let config = IdfConfig {
        hidden: 32,
        ..IdfConfig::full()
    };
    let flow = Idf::new(&config, &device);
    let x =
        Tensor::<2>::random([64, config.dim], Distribution::Uniform(0.0, 17.0), &device).floor();
    let z = flow.forward(x.clone());
    let z_host = to_host(z.clone());
    assert!(
        z_host.iter().all(|v| v.fract() == 0.0),
        "f(x) has non-integers"
    );
    assert_eq!(to_host(flow.inverse(z)), to_host(x), "f^-1(f(x)) != x");
}
// ANCHOR_END: integer

#[test]
fn a_data_initialised_flow_starts_as_the_identity_with_its_prior_on_the_data() {
    let (device, _rng) = device();
    let config = IdfConfig {
        hidden: 16,
        data_init: true,
        ..IdfConfig::full()
    };
    let x =
        Tensor::<2>::random([200, config.dim], Distribution::Uniform(0.0, 17.0), &device).floor();
    let flow = Idf::new(&config, &device).with_prior_fitted_to(x.clone());
    // f reverses the order once per coupling; 8 reversals are no reversal.
    assert_eq!(to_host(flow.forward(x.clone())), to_host(x.clone()));
    // The prior's log P(x) is then that of the fitted logistics: better than the book's start.
    let book = Idf::new(
        &IdfConfig {
            hidden: 16,
            ..IdfConfig::full()
        },
        &device,
    );
    let fitted_nll = -to_host(flow.log_prob(x.clone())).iter().sum::<f32>();
    let book_nll = -to_host(book.log_prob(x)).iter().sum::<f32>();
    assert!(
        fitted_nll < book_nll,
        "fitted {fitted_nll} vs book {book_nll}"
    );
}

#[test]
fn straight_through_rounding_rounds_forward_and_passes_the_gradient_back() {
    let (device, _rng) = device();
    let device = device.autodiff();
    let x = Tensor::<2>::from_data(TensorData::new(vec![0.4f32, 1.6, -2.5], [1, 3]), &device)
        .require_grad();
    let y = round_straight_through(x.clone());
    // Halves go to the even neighbour, as torch.round does.
    assert_eq!(to_host(y.clone()), vec![0.0, 2.0, -2.0]);
    let grads = (y * 3.0).sum().backward();
    assert_eq!(to_host(x.grad(&grads).unwrap()), vec![3.0, 3.0, 3.0]);
}

#[test]
fn dequantisation_puts_each_pixel_in_its_half_open_box() {
    let (device, _rng) = device();
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 7.0, 16.0, 3.0], [2, 2]),
        &device,
    );
    // u = 0 gives the top of the box, u -> 1 its open bottom.
    let u = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 0.5, 0.99, 0.25], [2, 2]),
        &device,
    );
    let v = to_host(dequantize(x, u));
    let expected = [0.5, 7.25, 16.005, 3.375];
    assert!(max_abs_diff(&v, &expected) < 1e-5, "{v:?}");
    assert!(v[2] > 16.0);
    // D ln 2 nats: the volume 2^-D of a box.
    assert!((discrete_nll_bound(100.0, 64) - (100.0 + 64.0 * 2f64.ln())).abs() < 1e-12);
}
