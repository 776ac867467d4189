//! `cargo run --release -p ch03_flows [-- realnvp|idf|idf-data-init|realnvp-moons [train|sample|bench]]`

use std::process::ExitCode;

use ch03_flows::experiment::CHAPTER;
use ch03_flows::experiment::idf::IdfCommand;
use ch03_flows::experiment::moons::MoonsCommand;
use ch03_flows::experiment::realnvp::RealNvpCommand;
use clap::Subcommand;
use dgm_core::cli::{Action, execute};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's RealNVP on the dequantised 8x8 digits (the default).
    Realnvp {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// Tomczak's integer discrete flow on the 8x8 digits: an exact discrete likelihood.
    Idf {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// The integer discrete flow started at the data: identity couplings, prior fitted to the
    /// pixels (not in the book; see the chapter's page).
    IdfDataInit {
        #[command(subcommand)]
        action: Option<Action>,
    },
    /// Foster's RealNVP on two moons, with the four pictures of the map.
    RealnvpMoons {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    let about = "Chapter 3: flows.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| match model {
        None => execute(&RealNvpCommand, flags, CHAPTER, None),
        Some(Model::Realnvp { action }) => execute(&RealNvpCommand, flags, CHAPTER, action),
        Some(Model::Idf { action }) => {
            execute(&IdfCommand { data_init: false }, flags, CHAPTER, action)
        }
        Some(Model::IdfDataInit { action }) => {
            execute(&IdfCommand { data_init: true }, flags, CHAPTER, action)
        }
        Some(Model::RealnvpMoons { action }) => execute(&MoonsCommand, flags, CHAPTER, action),
    })
}
