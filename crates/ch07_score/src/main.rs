//! `cargo run --release -p ch07_score [-- fm|sbgm|sm [train|sample|bench]]`

use std::process::ExitCode;

use ch07_score::experiments::CHAPTER;
use ch07_score::experiments::fm::FmCommand;
use ch07_score::experiments::sbgm::SbgmCommand;
use ch07_score::experiments::sm::SmCommand;
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run_command};

/// Chapter 7: score-based models and flow matching.
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
    /// Tomczak's conditional flow matching on the 8x8 digits, with an ODE likelihood (the
    /// default).
    Fm {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// Tomczak's score-based model on a variance-exploding SDE, sampled with the
    /// probability-flow ODE.
    Sbgm {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// Tomczak's denoising score matching, sampled with Langevin dynamics.
    Sm {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = &cli.run;
    let result = match cli.model {
        None => run_command::<FmCommand>(args, CHAPTER, None),
        Some(Model::Fm { action }) => run_command::<FmCommand>(args, CHAPTER, action),
        Some(Model::Sbgm { action }) => run_command::<SbgmCommand>(args, CHAPTER, action),
        Some(Model::Sm { action }) => run_command::<SmCommand>(args, CHAPTER, action),
    };
    exit_code(result)
}
