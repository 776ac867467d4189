//! `cargo run --release -p ch01_mog [-- [mog] [--learn-weights] [train|sample|bench]]`

use std::process::ExitCode;

use ch01_mog::experiment::{CHAPTER, MogCommand};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, Flags, execute, exit_code};

/// Chapter 1: a mixture of Gaussians.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    run: Flags,
    /// Learn the mixing weights (the book fixes them at 1/K); runs are named
    /// `mog-learned-weights`.
    #[arg(long, global = true)]
    learn_weights: bool,
    #[command(subcommand)]
    model: Option<Model>,
}

#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's mixture of 25 diagonal Gaussians on the 8x8 digits (the default).
    Mog {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mog = MogCommand {
        learn_weights: cli.learn_weights,
    };
    let action = cli.model.and_then(|Model::Mog { action }| action);
    exit_code(execute(&mog, &cli.run, CHAPTER, action))
}
