//! `cargo run --release -p ch12_llm [-- teeny-gpt [train|sample|bench]]`

use std::process::ExitCode;

use ch12_llm::experiment::{CHAPTER, TeenyGpt};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};
use dgm_core::experiment::TextSamples;

/// Chapter 12: a character-level GPT.
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
    /// Tomczak's teeny GPT on Shakespeare's characters (the default).
    TeenyGpt {
        #[command(subcommand)]
        action: Option<Action<TextSamples>>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let action = cli.model.and_then(|Model::TeenyGpt { action }| action);
    exit_code(run(&TeenyGpt, &cli.run, CHAPTER, action))
}
