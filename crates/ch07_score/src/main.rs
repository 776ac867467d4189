//! `cargo run --release -p ch07_score [-- fm [train|sample|bench]]`

use std::process::ExitCode;

use ch07_score::experiment::{CHAPTER, FmCommand};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run_command};

/// Chapter 7: score-based models and flow matching.
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
    /// Tomczak's conditional flow matching on the 8x8 digits, with an ODE likelihood (the
    /// default).
    Fm {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let action = cli.model.and_then(|Model::Fm { action }| action);
    exit_code(run_command::<FmCommand>(&cli.run, CHAPTER, action))
}
