//! `cargo run --release -p ch08_hybrid [-- hybrid [train|sample|bench]]`

use std::process::ExitCode;

use ch08_hybrid::experiment::{CHAPTER, HybridCommand};
use clap::Subcommand;
use dgm_core::cli::{Action, run};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's hybrid integer-flow classifier on the labelled 8x8 digits (the default).
    Hybrid {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let about = "Chapter 8: a hybrid of an integer flow and a classifier.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| {
        let action = model.and_then(|Model::Hybrid { action }| action);
        run(&HybridCommand, flags, CHAPTER, action)
    })
}
