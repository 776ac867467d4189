//! `cargo run --release -p ch06_diffusion [-- ddgm [train|sample|bench]]`

use std::process::ExitCode;

use ch06_diffusion::experiment::{CHAPTER, Diffusion};

fn main() -> ExitCode {
    let about = "Chapter 6: diffusion models.";
    let help = "Tomczak's diffusion-based deep generative model on the 8x8 digits (the default).";
    dgm_core::cli::main_one(CHAPTER, about, help, &Diffusion)
}
