//! The properties that make the model an autoregressive model, checked on small random networks.

use burn::prelude::*;
use ch02_arm::arm::CausalConvArm;
use ch02_arm::config::{ArmConfig, TransformerConfig};
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::transformer::{DecoderConfig, DecoderTransformer};

/// A seeded device and a fresh 8-channel network for `dim` pixels of `levels` values.
fn tiny_model(dim: usize, levels: usize) -> (Device, ArmConfig, CausalConvArm) {
    let device = Device::flex();
    device.seed(1);
    let config = ArmConfig {
        dim,
        levels,
        channels: 8,
        ..ArmConfig::full()
    };
    let model = CausalConvArm::new(&config, &device);
    (device, config, model)
}

/// Random images with values 0..levels, as floats.
fn random_images(n: usize, config: &ArmConfig, device: &Device) -> Tensor<2> {
    Tensor::<2>::random(
        [n, config.dim],
        burn::tensor::Distribution::Uniform(0.0, config.levels as f64),
        device,
    )
    .floor()
}

/// The logits at position d for every image: [n, K].
fn logits_at(model: &CausalConvArm, x: Tensor<2>, d: usize) -> Vec<f32> {
    let logits = model.logits(x);
    let [n, _, k] = logits.dims();
    to_host(logits.slice([0..n, d..d + 1, 0..k]))
}

// ANCHOR: causality
#[test]
fn the_distribution_at_d_ignores_pixels_from_d_on() {
    let (device, config, model) = tiny_model(64, 17);
    let x = random_images(4, &config, &device);
    for d in [0, 1, 7, 8, 30, 63] {
        // Replace every pixel from d on with other values.
        let future = random_images(4, &config, &device).slice([0..4, d..config.dim]);
        let changed = x
            .clone()
            .slice_assign([0..4, d..config.dim], (future + 1.0).clamp_max(16.0));
        let before = logits_at(&model, x.clone(), d);
        let after = logits_at(&model, changed, d);
        for (a, b) in before.iter().zip(&after) {
            assert!((a - b).abs() < 1e-5, "position {d}: {a} became {b}");
        }
    }
}

// ANCHOR_END: causality

#[test]
fn the_distribution_at_d_depends_on_pixel_d_minus_1() {
    let (device, config, model) = tiny_model(64, 17);
    let x = random_images(4, &config, &device);
    for d in [1, 8, 40, 63] {
        let previous = x.clone().slice([0..4, d - 1..d]);
        // Move pixel d-1 to a different value (v + 8 mod 17).
        let moved = (previous + 8.0).remainder_scalar(17.0);
        let changed = x.clone().slice_assign([0..4, d - 1..d], moved);
        let before = logits_at(&model, x.clone(), d);
        let after = logits_at(&model, changed, d);
        let largest = before
            .iter()
            .zip(&after)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            largest > 1e-4,
            "position {d} did not react to pixel {}",
            d - 1
        );
    }
}

// ANCHOR: normalised
#[test]
fn probabilities_of_all_sequences_sum_to_one() {
    // D = 3 pixels with K = 3 levels: 27 sequences, few enough to enumerate.
    let (device, _, model) = tiny_model(3, 3);
    let all: Vec<f32> = (0..27)
        .flat_map(|i| [(i / 9) as f32, ((i / 3) % 3) as f32, (i % 3) as f32])
        .collect();
    let x = Tensor::<2>::from_data(TensorData::new(all, [27, 3]), &device);
    let total: f32 = model.log_prob(x).exp().sum().into_scalar();
    assert!((total - 1.0).abs() < 1e-4, "probabilities sum to {total}");
}

// ANCHOR_END: normalised

#[test]
fn samples_are_valid_pixel_values() {
    let (device, config, model) = tiny_model(64, 17);
    let samples = to_host(model.sample(5, config.dim, &device));
    assert_eq!(samples.len(), 5 * 64);
    assert!(
        samples
            .iter()
            .all(|&v| v.fract() == 0.0 && (0.0..17.0).contains(&v))
    );
}

#[test]
fn the_transformer_has_tomczaks_parameter_count() {
    // the SMILES transformer of section 2.2 (112 tokens, inputs of up to 101): 1,018,032
    // parameters
    let config = DecoderConfig {
        vocabulary: 112,
        positions: 101,
        architecture: TransformerConfig::full().architecture,
    };
    let model = DecoderTransformer::new(&config, &Device::flex());
    assert_eq!(model.num_params(), 1_018_032);
}
