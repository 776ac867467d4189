//! `cargo run --release -p ch09_ebm [-- ebm [train|sample|bench]]`

use std::process::ExitCode;

use ch09_ebm::experiment::{CHAPTER, EbmCommand};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};

/// Chapter 9: a classifier read as an energy-based model.
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
    /// Tomczak's JEM-style energy-based model on the labelled 8x8 digits (the default).
    Ebm {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let action = cli.model.and_then(|Model::Ebm { action }| action);
    exit_code(run(&EbmCommand, &cli.run, CHAPTER, action))
}
