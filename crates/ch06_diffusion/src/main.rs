//! `cargo run --release -p ch06_diffusion [-- ddgm [train|sample|bench]]`

use std::process::ExitCode;

use ch06_diffusion::experiment::{CHAPTER, DdgmCommand};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run_command};

/// Chapter 6: diffusion models.
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
    /// Tomczak's diffusion-based deep generative model on the 8x8 digits (the default).
    Ddgm {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let action = cli.model.and_then(|Model::Ddgm { action }| action);
    exit_code(run_command::<DdgmCommand>(&cli.run, CHAPTER, action))
}
