//! `cargo run --release -p ch05_hvae [-- hvae [train|sample|bench]]`

use std::process::ExitCode;

use ch05_hvae::experiment::{CHAPTER, HvaeCommand};

fn main() -> ExitCode {
    let about = "Chapter 5: hierarchical VAEs.";
    let help = "Tomczak's two-level top-down VAE on the 8x8 digits (the default).";
    dgm_core::cli::main_one(CHAPTER, about, help, &HvaeCommand)
}
