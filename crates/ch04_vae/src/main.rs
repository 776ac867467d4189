//! `cargo run --release -p ch04_vae [-- vae|priors --prior <kind> [train|sample|bench]]`

use std::process::ExitCode;

use ch04_vae::config::PriorKind;
use ch04_vae::experiment::{CHAPTER, VaeCommand};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};

/// Chapter 4: variational auto-encoders.
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
    /// Tomczak's VAE on the 8x8 digits: L = 16, categorical decoder (the default).
    Vae {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// The same VAE with a 2-D latent space and a choice of prior.
    Priors {
        /// The prior p(z).
        #[arg(long, value_enum, default_value_t = PriorKind::Vampprior)]
        prior: PriorKind,
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = &cli.run;
    let result = match cli.model {
        None => run(&VaeCommand::Vae, args, CHAPTER, None),
        Some(Model::Vae { action }) => run(&VaeCommand::Vae, args, CHAPTER, action),
        Some(Model::Priors { prior, action }) => {
            run(&VaeCommand::Priors(prior), args, CHAPTER, action)
        }
    };
    exit_code(result)
}
