//! `cargo run --release -p ch10_gan [-- gan [train|sample|bench]]`

use std::process::ExitCode;

use ch10_gan::experiment::{CHAPTER, GanCommand};
use clap::Subcommand;
use dgm_core::cli::{Action, run};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's MLP GAN on the 8x8 digits (the default).
    Gan {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let about = "Chapter 10: a generative adversarial network.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| {
        let action = model.and_then(|Model::Gan { action }| action);
        run(&GanCommand, flags, CHAPTER, action)
    })
}
