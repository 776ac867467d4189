//! `cargo run --release -p ch02_arm [-- causal-conv|transformer [train|sample|bench]]`

use std::process::ExitCode;

use ch02_arm::experiment::CHAPTER;
use ch02_arm::experiment::causal_conv::CausalConv;
use ch02_arm::experiment::transformer::SmilesTransformer;
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};
use dgm_core::experiment::TextSamples;

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
        action: Option<Action<TextSamples>>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = &cli.run;
    let result = match cli.model {
        None => run(&CausalConv, args, CHAPTER, None),
        Some(Model::CausalConv { action }) => run(&CausalConv, args, CHAPTER, action),
        Some(Model::Transformer { action }) => run(&SmilesTransformer, args, CHAPTER, action),
    };
    exit_code(result)
}
