//! The game's losses at the equilibrium and the players' shapes.

use std::f64::consts::LN_2;

use burn::prelude::*;
use ch10_gan::config::GanConfig;
use ch10_gan::gan::{D_CLAMP, Gan, discriminator_loss, generator_loss};
use dgm_core::config::Preset;
use dgm_core::data::to_host;

#[test]
fn at_d_one_half_the_losses_are_the_equilibrium_values() {
    let device = Device::flex();
    let half = Tensor::<1>::full([5], 0.5, &device);
    for v in to_host(discriminator_loss(half.clone(), half.clone())) {
        // ln 4 = 2 ln 2
        assert!((v as f64 - 2.0 * LN_2).abs() < 1e-6, "{v}");
    }
    for v in to_host(generator_loss(half)) {
        assert!((v as f64 + LN_2).abs() < 1e-6, "{v}");
    }
}

#[test]
fn a_discriminator_that_is_right_has_a_small_loss_and_the_generator_a_very_negative_one() {
    let device = Device::flex();
    let sure_real = Tensor::<1>::full([3], 1.0 - D_CLAMP, &device);
    let sure_fake = Tensor::<1>::full([3], D_CLAMP, &device);
    // -(log(1 - 1e-5) + log(1 - 1e-5)) = 2e-5 to first order
    for v in to_host(discriminator_loss(sure_real.clone(), sure_fake.clone())) {
        assert!((v as f64 - 2e-5).abs() < 1e-6, "{v}");
    }
    // A generator that fools D completely: log(1e-5), up to float32's rounding of 1 - 1e-5
    // (relative 1e-4 of 1e-5).
    for v in to_host(generator_loss(sure_real)) {
        assert!((v as f64 - D_CLAMP.ln()).abs() < 1e-2, "{v}");
    }
}

#[test]
fn the_players_have_the_book_sizes_and_ranges() {
    let device = Device::flex();
    let gan = Gan::new(&GanConfig::full(), &device);
    assert_eq!(gan.generator.num_params(), 10_432);
    assert_eq!(gan.discriminator.num_params(), 8_449);
    let x = gan.generator.sample(100, &device);
    assert_eq!(x.dims(), [100, 64]);
    assert!(to_host(x.clone()).iter().all(|v| v.abs() <= 1.0));
    let d = to_host(gan.discriminator.forward(x));
    assert!(
        d.iter()
            .all(|&p| p >= D_CLAMP as f32 && p <= 1.0 - D_CLAMP as f32)
    );
}
