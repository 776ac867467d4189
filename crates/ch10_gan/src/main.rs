//! `cargo run --release -p ch10_gan [-- gan [train|sample|bench]]`

use std::process::ExitCode;

use ch10_gan::experiment::{CHAPTER, GanCommand};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};

/// Chapter 10: a generative adversarial network.
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
    /// Tomczak's MLP GAN on the 8x8 digits (the default).
    Gan {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let action = cli.model.and_then(|Model::Gan { action }| action);
    exit_code(run(&GanCommand, &cli.run, CHAPTER, action))
}
