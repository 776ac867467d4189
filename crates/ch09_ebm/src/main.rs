//! `cargo run --release -p ch09_ebm [-- ebm [train|sample|bench]]`

use std::process::ExitCode;

use ch09_ebm::experiment::{CHAPTER, EbmCommand};
use clap::Subcommand;
use dgm_core::cli::{Action, run};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's JEM-style energy-based model on the labelled 8x8 digits (the default).
    Ebm {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let about = "Chapter 9: a classifier read as an energy-based model.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| {
        let action = model.and_then(|Model::Ebm { action }| action);
        run(&EbmCommand, flags, CHAPTER, action)
    })
}
