//! `cargo run --release -p ch08_hybrid [-- hybrid [train|sample|bench]]`

use std::process::ExitCode;

use ch08_hybrid::experiment::{CHAPTER, HybridCommand};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};

/// Chapter 8: a hybrid of an integer flow and a classifier.
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
    /// Tomczak's hybrid integer-flow classifier on the labelled 8x8 digits (the default).
    Hybrid {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let action = cli.model.and_then(|Model::Hybrid { action }| action);
    exit_code(run(&HybridCommand, &cli.run, CHAPTER, action))
}
