//! `cargo run --release -p ch06_diffusion [-- ddgm [train|sample|bench]]`

use std::process::ExitCode;

use ch06_diffusion::experiment::{CHAPTER, Diffusion};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};

/// Chapter 6: diffusion models.
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
    /// Tomczak's diffusion-based deep generative model on the 8x8 digits (the default).
    Ddgm {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = &cli.run;
    let result = match cli.model {
        None => run(&Diffusion, args, CHAPTER, None),
        Some(Model::Ddgm { action }) => run(&Diffusion, args, CHAPTER, action),
    };
    exit_code(result)
}
