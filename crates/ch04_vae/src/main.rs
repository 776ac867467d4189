//! `cargo run --release -p ch04_vae [-- vae|priors --prior <kind> [train|sample|bench]]`

use std::process::ExitCode;

use ch04_vae::config::PriorKind;
use ch04_vae::experiment::{CHAPTER, VaeCommand};
use clap::Subcommand;
use dgm_core::cli::{Action, Verb, execute};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's VAE on the 8x8 digits: L = 16, categorical decoder (the default).
    Vae(Verb),
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
    let about = "Chapter 4: variational auto-encoders.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| match model {
        None => execute(&VaeCommand::Vae, flags, CHAPTER, None),
        Some(Model::Vae(verb)) => execute(&VaeCommand::Vae, flags, CHAPTER, verb.action),
        Some(Model::Priors { prior, action }) => {
            execute(&VaeCommand::Priors(prior), flags, CHAPTER, action)
        }
    })
}
