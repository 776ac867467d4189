//! One run of each model from start to report, and the verbs that reuse its checkpoint
//! (sample, bench).

pub mod pictures;
pub mod vae;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch04_vae";
