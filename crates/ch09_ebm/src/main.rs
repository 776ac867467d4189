//! `cargo run --release -p ch09_ebm [-- ebm [train|sample|bench]]`

use std::process::ExitCode;

use ch09_ebm::experiment::{CHAPTER, EbmCommand};

fn main() -> ExitCode {
    let about = "Chapter 9: a classifier read as an energy-based model.";
    let help = "Tomczak's JEM-style energy-based model on the labelled 8x8 digits (the default).";
    dgm_core::cli::main_one(CHAPTER, about, help, &EbmCommand)
}
