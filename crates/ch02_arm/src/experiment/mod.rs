//! The protocols of the chapter's two models: how each is trained, evaluated and sampled.

pub mod causal_conv;
pub mod transformer;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch02_arm";
