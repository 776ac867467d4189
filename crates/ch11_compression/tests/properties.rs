//! The quantiser, the entropy model's causality, the model's size, and the bitstream through
//! the model.

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use ch11_compression::bitstream::{decode_symbols, encode_symbols};
use ch11_compression::compressor::{Codebook, Compressor};
use ch11_compression::config::{CompressionConfig, EntropyKind};
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::testing::{StreamLock, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(13)
}

#[test]
fn the_quantiser_snaps_to_the_nearest_entry_and_passes_the_gradient_straight_through() {
    let (device, _rng) = device();
    let device = device.autodiff();
    let codebook = Codebook::new(8, &device);
    let entries = to_host(codebook.lookup(Tensor::<2, Int>::from_data(
        TensorData::new((0..8i64).collect::<Vec<_>>(), [1, 8]),
        &device,
    )));
    let z = Tensor::<2>::random([4, 16], Distribution::Uniform(-0.3, 0.3), &device).require_grad();
    let values = codebook.quantise(z.clone()).values;
    for (&v, &x) in to_host(values.clone()).iter().zip(&to_host(z.clone())) {
        let nearest = entries
            .iter()
            .copied()
            .min_by(|a, b| (a - x).abs().total_cmp(&(b - x).abs()))
            .unwrap();
        assert_eq!(v, nearest);
    }
    // d(sum of values)/dz = 1 everywhere: the straight-through estimator.
    let grads = values.sum().backward();
    assert!(to_host(z.grad(&grads).unwrap()).iter().all(|&g| g == 1.0));
}

#[test]
fn the_entropy_model_at_a_position_ignores_that_position_and_the_later_ones() {
    let (device, _rng) = device();
    let model = Compressor::new(&CompressionConfig::full(), &device);
    let values = Tensor::<2>::random([3, 16], Distribution::Uniform(-0.2, 0.2), &device);
    let probabilities = to_host(model.entropy.probabilities(values.clone()));
    for position in [0usize, 5, 15] {
        // Change positions position.. and keep the earlier ones.
        let changed = values.clone().slice_assign(
            [0..3, position..16],
            Tensor::random(
                [3, 16 - position],
                Distribution::Uniform(-0.2, 0.2),
                &device,
            ),
        );
        let after = to_host(model.entropy.probabilities(changed));
        for image in 0..3 {
            let at = |p: &[f32]| {
                p[(image * 16 + position) * 8..(image * 16 + position + 1) * 8].to_vec()
            };
            assert_eq!(at(&probabilities), at(&after), "position {position}");
        }
    }
}

#[test]
fn the_model_has_the_book_size() {
    let (device, _rng) = device();
    assert_eq!(
        Compressor::new(&CompressionConfig::full(), &device).parameters(),
        408_096
    );
}

#[test]
fn symbols_go_through_the_bitstream_and_come_back_exactly() {
    let (device, _rng) = device();
    for entropy in [EntropyKind::Arm, EntropyKind::Indp, EntropyKind::Uniform] {
        let config = CompressionConfig::full().with_entropy(entropy);
        let model = Compressor::new(&config, &device);
        let x = Tensor::<2>::random([50, 64], Distribution::Uniform(0.0, 16.0), &device);
        let symbols = model.encode(x);
        let bytes = encode_symbols(&model, symbols.clone()).unwrap();
        let decoded = decode_symbols(&model, &bytes, 50, 16, &device).unwrap();
        assert_eq!(
            to_host(symbols.float()),
            to_host(decoded.float()),
            "{entropy:?}"
        );
        if entropy == EntropyKind::Uniform {
            // 3 bits for each of 50 x 16 symbols, and the 4 bytes of the final state.
            assert_eq!(bytes.len(), 50 * 16 * 3 / 8 + 4);
        }
    }
}

#[test]
fn the_rate_tells_the_encoder_which_way_is_cheaper() {
    let (device, _rng) = device();
    let device = device.autodiff();
    // Independent categoricals see nothing of the values: only the assignment carries the
    // rate's gradient back to z.
    let config = CompressionConfig::full().with_entropy(EntropyKind::Indp);
    let model = Compressor::new(&config, &device);
    let z = Tensor::<2>::random([4, 16], Distribution::Uniform(-0.3, 0.3), &device).require_grad();
    let code = model.codebook.quantise(z.clone());
    let rate = model.entropy.rate(code.values, code.assignment);
    let grads = rate.sum().backward();
    let gradient = to_host(z.grad(&grads).unwrap());
    assert!(gradient.iter().any(|&g| g != 0.0), "no gradient reaches z");
}
