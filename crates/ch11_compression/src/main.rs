//! `cargo run --release -p ch11_compression [-- arm|indp|uniform|rate-distortion [train|sample|bench]]`

use std::process::ExitCode;

use ch11_compression::config::EntropyKind::{Arm, Indp, Uniform};
use ch11_compression::experiment::CHAPTER;
use ch11_compression::experiment::compressor::CompressionCommand;
use ch11_compression::experiment::rate_distortion::RateDistortionCommand;
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};

/// Chapter 11: learned lossy compression with a real entropy coder.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    model: Option<Model>,
}

#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's compressor with the autoregressive entropy model (the default).
    Arm {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// The same with independent categoricals per code position.
    Indp {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// The same with a uniform code: 3 bits per symbol, only the distortion is trained.
    Uniform {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// `arm` trained at five rate weights, and the rate-distortion curve they trace.
    RateDistortion {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = &cli.run;
    let result = match cli.model {
        None => run(&CompressionCommand(Arm), args, CHAPTER, None),
        Some(Model::Arm { action }) => run(&CompressionCommand(Arm), args, CHAPTER, action),
        Some(Model::Indp { action }) => run(&CompressionCommand(Indp), args, CHAPTER, action),
        Some(Model::Uniform { action }) => run(&CompressionCommand(Uniform), args, CHAPTER, action),
        Some(Model::RateDistortion { action }) => {
            run(&RateDistortionCommand, args, CHAPTER, action)
        }
    };
    exit_code(result)
}
