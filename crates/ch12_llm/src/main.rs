//! `cargo run --release -p ch12_llm [-- teeny-gpt [train|sample|bench]]`

use std::process::ExitCode;

use ch12_llm::experiment::{CHAPTER, TeenyGpt};
use clap::Subcommand;
use dgm_core::cli::{Action, run};
use dgm_core::experiment::TextSamples;

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's teeny GPT on Shakespeare's characters (the default).
    TeenyGpt {
        #[command(subcommand)]
        action: Option<Action<TextSamples>>,
    },
}

fn main() -> ExitCode {
    let about = "Chapter 12: a character-level GPT.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| {
        let action = model.and_then(|Model::TeenyGpt { action }| action);
        run(&TeenyGpt, flags, CHAPTER, action)
    })
}
