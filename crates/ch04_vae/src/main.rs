//! `cargo run --release -p ch04_vae [-- vae|priors --prior <kind> [train|sample|bench]]`

use std::process::ExitCode;

use ch04_vae::config::PriorKind;
use ch04_vae::experiments::CHAPTER;
use ch04_vae::experiments::vae::{Flow, Mog, PriorsCommand, Standard, VaeCommand, Vampprior};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run_command};

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
        None => run_command::<VaeCommand>(args, CHAPTER, None),
        Some(Model::Vae { action }) => run_command::<VaeCommand>(args, CHAPTER, action),
        Some(Model::Priors { prior, action }) => match prior {
            PriorKind::Standard => run_command::<PriorsCommand<Standard>>(args, CHAPTER, action),
            PriorKind::Mog => run_command::<PriorsCommand<Mog>>(args, CHAPTER, action),
            PriorKind::Vampprior => run_command::<PriorsCommand<Vampprior>>(args, CHAPTER, action),
            PriorKind::Flow => run_command::<PriorsCommand<Flow>>(args, CHAPTER, action),
        },
    };
    exit_code(result)
}
