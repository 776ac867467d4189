//! `cargo run --release -p ch08_hybrid [-- hybrid [train|sample|bench]]`

use std::process::ExitCode;

use ch08_hybrid::experiment::{CHAPTER, HybridCommand};

fn main() -> ExitCode {
    let about = "Chapter 8: a hybrid of an integer flow and a classifier.";
    let help = "Tomczak's hybrid integer-flow classifier on the labelled 8x8 digits (the default).";
    dgm_core::cli::main_one(CHAPTER, about, help, &HybridCommand)
}
