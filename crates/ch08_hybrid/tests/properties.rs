//! The hybrid flow is an exact integer bijection that starts as the identity; the model has the
//! book's size.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use ch08_hybrid::config::HybridConfig;
use ch08_hybrid::hybrid::Hybrid;
use dgm_core::config::Preset;
use dgm_core::data::to_host;
use dgm_core::testing::{StreamLock, seeded_device};

fn device() -> (Device, StreamLock) {
    seeded_device(11)
}

/// Integer images 0..16 as floats.
fn integer_images(n: usize, device: &Device) -> Tensor<2> {
    Tensor::<2>::random([n, 64], Distribution::Uniform(0.0, 17.0), device).floor()
}

#[test]
fn a_new_flow_is_the_identity() {
    let (device, _rng) = device();
    let model = Hybrid::new(&HybridConfig::full(), &device);
    let x = integer_images(16, &device);
    // Two reversals of the dimensions undo each other, and beta = 0 moves nothing.
    assert_eq!(to_host(model.forward(x.clone())), to_host(x));
}

#[test]
fn with_open_gates_the_flow_maps_integers_to_integers_and_inverts_exactly() {
    let (device, _rng) = device();
    let config = HybridConfig::full();
    // Open every gate: beta = 3, so the translations really move the images.
    let model = Hybrid::new(&config, &device).map(&mut OpenGates);
    let x = integer_images(32, &device);
    let z = model.forward(x.clone());
    let z_values = to_host(z.clone());
    assert!(
        z_values.iter().all(|v| v.fract() == 0.0),
        "z is not integer"
    );
    assert_ne!(z_values, to_host(x.clone()), "the open flow moved nothing");
    assert_eq!(to_host(model.inverse(z)), to_host(x));
}

/// Sets every one-element parameter (the gates beta) to 3.
struct OpenGates;

impl burn::module::ModuleMapper for OpenGates {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if param.shape().num_elements() == 1 {
            let value = param.val().ones_like() * 3.0;
            Param::from_tensor(value)
        } else {
            param
        }
    }
}

#[test]
fn the_model_has_the_book_size() {
    let (device, _rng) = device();
    assert_eq!(
        Hybrid::new(&HybridConfig::full(), &device).num_params(),
        250_060
    );
}
