//! `cargo run --release -p ch02_arm [-- causal-conv|transformer [train|sample|bench]]`

use std::process::ExitCode;

use ch02_arm::experiment::{CHAPTER, CausalConv};
use ch02_arm::transformer::SmilesTransformer;
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run_command};

/// Chapter 2: autoregressive models.
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
    /// Tomczak's ARM with causal 1-D convolutions on the 8x8 digits (the default).
    CausalConv {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// Tomczak's decoder transformer on SMILES strings of molecules.
    Transformer {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.model {
        None => run_command::<CausalConv>(&cli.run, CHAPTER, None),
        Some(Model::CausalConv { action }) => run_command::<CausalConv>(&cli.run, CHAPTER, action),
        Some(Model::Transformer { action }) => {
            run_command::<SmilesTransformer>(&cli.run, CHAPTER, action)
        }
    };
    exit_code(result)
}
