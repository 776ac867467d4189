//! The protocols of the chapter's models: the compressor with each of its three entropy models
//! (trained, its test split coded to a real bitstream and back, sampled), and the
//! rate-distortion sweep over the rate's weight.

pub mod compressor;
pub mod rate_distortion;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch11_compression";
