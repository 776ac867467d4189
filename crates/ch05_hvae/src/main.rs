//! `cargo run --release -p ch05_hvae [-- hvae [train|sample|bench]]`

use std::process::ExitCode;

use ch05_hvae::experiment::{CHAPTER, HvaeCommand};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};

/// Chapter 5: hierarchical VAEs.
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
    /// Tomczak's two-level top-down VAE on the 8x8 digits (the default).
    Hvae {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let action = cli.model.and_then(|Model::Hvae { action }| action);
    exit_code(run(&HvaeCommand, &cli.run, CHAPTER, action))
}
