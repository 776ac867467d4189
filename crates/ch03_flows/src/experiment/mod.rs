//! The protocols of the chapter's models: how each is trained, evaluated and sampled.

pub mod idf;
pub mod moons;
pub mod realnvp;

use burn::prelude::*;
use dgm_core::data::DIGITS_LEVELS;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch03_flows";

/// Digit samples as the grid shows them: values outside the data's range 0..16 clamped to it.
fn clamp_to_digit_range(x: Tensor<2>) -> Tensor<2> {
    x.clamp(0.0, (DIGITS_LEVELS - 1) as f64)
}
