//! `cargo run --release -p ch10_gan [-- gan [train|sample|bench]]`

use std::process::ExitCode;

use ch10_gan::experiment::{CHAPTER, GanCommand};

fn main() -> ExitCode {
    let about = "Chapter 10: a generative adversarial network.";
    let help = "Tomczak's MLP GAN on the 8x8 digits (the default).";
    dgm_core::cli::main_one(CHAPTER, about, help, &GanCommand)
}
