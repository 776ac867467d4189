//! `cargo run --release -p ch11_compression [-- arm|indp|uniform|rate-distortion [train|sample|bench]]`

use std::process::ExitCode;

use ch11_compression::config::EntropyKind::{Arm, Indp, Uniform};
use ch11_compression::experiment::CHAPTER;
use ch11_compression::experiment::compressor::CompressionCommand;
use ch11_compression::experiment::rate_distortion::RateDistortionCommand;
use clap::Subcommand;
use dgm_core::cli::{Verb, execute};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's compressor with the autoregressive entropy model (the default).
    Arm(Verb),
    /// The same with independent categoricals per code position.
    Indp(Verb),
    /// The same with a uniform code: 3 bits per symbol, only the distortion is trained.
    Uniform(Verb),
    /// `arm` trained at five rate weights, and the rate-distortion curve they trace.
    RateDistortion(Verb),
}

fn main() -> ExitCode {
    let about = "Chapter 11: learned lossy compression with a real entropy coder.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| match model {
        None => execute(&CompressionCommand(Arm), flags, CHAPTER, None),
        Some(Model::Arm(verb)) => execute(&CompressionCommand(Arm), flags, CHAPTER, verb.action),
        Some(Model::Indp(verb)) => execute(&CompressionCommand(Indp), flags, CHAPTER, verb.action),
        Some(Model::Uniform(verb)) => {
            execute(&CompressionCommand(Uniform), flags, CHAPTER, verb.action)
        }
        Some(Model::RateDistortion(verb)) => {
            execute(&RateDistortionCommand, flags, CHAPTER, verb.action)
        }
    })
}
