//! `cargo run --release -p ch02_arm [-- causal-conv|transformer [train|sample|bench]]`

use std::process::ExitCode;

use ch02_arm::experiment::CHAPTER;
use ch02_arm::experiment::causal_conv::CausalConv;
use ch02_arm::experiment::transformer::SmilesTransformer;
use clap::Subcommand;
use dgm_core::cli::{Action, execute};
use dgm_core::experiment::TextSamples;

/// The chapter's models.
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
    let about = "Chapter 2: autoregressive models.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| match model {
        None => execute(&CausalConv, flags, CHAPTER, None),
        Some(Model::CausalConv { action }) => execute(&CausalConv, flags, CHAPTER, action),
        Some(Model::Transformer { action }) => execute(&SmilesTransformer, flags, CHAPTER, action),
    })
}
