//! `cargo run --release -p ch06_diffusion [-- ddgm [train|sample|bench]]`

use std::process::ExitCode;

use ch06_diffusion::experiment::{CHAPTER, Diffusion};
use clap::Subcommand;
use dgm_core::cli::{Action, run};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's diffusion-based deep generative model on the 8x8 digits (the default).
    Ddgm {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let about = "Chapter 6: diffusion models.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| match model {
        None => run(&Diffusion, flags, CHAPTER, None),
        Some(Model::Ddgm { action }) => run(&Diffusion, flags, CHAPTER, action),
    })
}
