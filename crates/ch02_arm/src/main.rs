//! `cargo run --release -p ch02_arm [-- causal-conv|transformer [train|sample|bench]]`

use std::process::ExitCode;

use ch02_arm::experiment::CHAPTER;
use ch02_arm::experiment::causal_conv::CausalConv;
use ch02_arm::experiment::transformer::SmilesTransformer;
use clap::Subcommand;
use dgm_core::cli::{Verb, execute};
use dgm_core::experiment::TextSamples;

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's ARM with causal 1-D convolutions on the 8x8 digits (the default).
    CausalConv(Verb),
    /// Tomczak's decoder transformer on SMILES strings of molecules.
    Transformer(Verb<TextSamples>),
}

fn main() -> ExitCode {
    let about = "Chapter 2: autoregressive models.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| match model {
        None => execute(&CausalConv, flags, CHAPTER, None),
        Some(Model::CausalConv(verb)) => execute(&CausalConv, flags, CHAPTER, verb.action),
        Some(Model::Transformer(verb)) => execute(&SmilesTransformer, flags, CHAPTER, verb.action),
    })
}
