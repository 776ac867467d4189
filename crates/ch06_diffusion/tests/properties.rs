//! The forward process against its closed form, and the reverse model's size and bound.

use burn::prelude::*;
use burn::tensor::TensorData;
use ch06_diffusion::config::DdgmConfig;
use ch06_diffusion::ddgm::{Ddgm, alpha_bar, diffuse};
use dgm_core::config::Preset;
use dgm_core::data::{to_digit_scale, to_host, to_unit_scale};
use dgm_core::testing::{StreamLock, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(5)
}

#[test]
fn the_schedule_at_known_points() {
    assert_eq!(alpha_bar(0.9, 0), 1.0);
    assert!((alpha_bar(0.9, 1) - 0.1).abs() < 1e-15);
    assert!((alpha_bar(0.9, 5) - 1e-5).abs() < 1e-15);
    assert!((alpha_bar(0.1, 3) - 0.729).abs() < 1e-12);
}

// ANCHOR: closed_form
#[test]
fn t_forward_steps_match_q_of_z_t_given_x() {
    let (device, _rng) = device();
    let n = 40_000;
    let beta = 0.3;
    // One pixel at x = 0.8, diffused t = 3 steps, 40,000 times.
    let mut z = Tensor::<2>::from_data(TensorData::new(vec![0.8f32; n], [n, 1]), &device);
    for _ in 0..3 {
        z = diffuse(z, beta);
    }
    let values: Vec<f64> = to_host(z).into_iter().map(f64::from).collect();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    // q(z_t | x) = N(sqrt(alpha-bar_t) x, 1 - alpha-bar_t)
    let a = alpha_bar(beta, 3);
    let (mean_expected, var_expected) = (a.sqrt() * 0.8, 1.0 - a);
    // Four standard errors of the mean and of the variance.
    assert!(
        (mean - mean_expected).abs() < 4.0 * (var_expected / n as f64).sqrt(),
        "mean {mean} vs {mean_expected}"
    );
    assert!(
        (var - var_expected).abs() < 4.0 * var_expected * (2.0 / n as f64).sqrt(),
        "var {var} vs {var_expected}"
    );
}
// ANCHOR_END: closed_form

#[test]
fn the_model_has_the_book_size_and_trains_every_reverse_network() {
    let (device, _rng) = device();
    let model = Ddgm::new(&DdgmConfig::full(), &device);
    // The decoder's 591,424 and the four reverse networks' 724,480: all of them are parameters.
    assert_eq!(model.num_params(), 591_424 + 724_480);
    // Every parameter tensor receives a gradient from the ELBO (the reference's reverse
    // networks received none): 4 reverse networks of 4 layers and the decoder's 4 layers, a
    // weight and a bias each.
    let train = device.autodiff();
    let model = Ddgm::new(&DdgmConfig::full(), &train);
    let x = Tensor::<2>::random(
        [8, 64],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        &train,
    );
    let grads = model.loss(x).backward();
    let gradients = burn::optim::GradientsParams::from_grads(grads, &model);
    assert_eq!(gradients.len(), 4 * 4 * 2 + 4 * 2);
}

#[test]
fn the_scales_invert() {
    let (device, _rng) = device();
    let x = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 5.0, 16.0], [1, 3]), &device);
    let back = to_host(to_digit_scale(to_unit_scale(x)));
    for (got, want) in back.iter().zip([0.0, 5.0, 16.0]) {
        assert!((got - want).abs() < 1e-4, "{back:?}");
    }
}
