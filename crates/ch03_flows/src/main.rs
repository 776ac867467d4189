//! `cargo run --release -p ch03_flows [-- realnvp|idf|idf-data-init|realnvp-moons [train|sample|bench]]`

use std::process::ExitCode;

use ch03_flows::experiment::CHAPTER;
use ch03_flows::experiment::idf::IdfCommand;
use ch03_flows::experiment::moons::MoonsCommand;
use ch03_flows::experiment::realnvp::RealNvpCommand;
use clap::Subcommand;
use dgm_core::cli::{Verb, execute};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's RealNVP on the dequantised 8x8 digits (the default).
    Realnvp(Verb),
    /// Tomczak's integer discrete flow on the 8x8 digits: an exact discrete likelihood.
    Idf(Verb),
    /// The integer discrete flow started at the data: identity couplings, prior fitted to the
    /// pixels (not in the book; see the chapter's page).
    IdfDataInit(Verb),
    /// Foster's RealNVP on two moons, with the four pictures of the map.
    RealnvpMoons(Verb),
}

fn main() -> ExitCode {
    let about = "Chapter 3: flows.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| match model {
        None => execute(&RealNvpCommand, flags, CHAPTER, None),
        Some(Model::Realnvp(verb)) => execute(&RealNvpCommand, flags, CHAPTER, verb.action),
        Some(Model::Idf(verb)) => execute(
            &IdfCommand { data_init: false },
            flags,
            CHAPTER,
            verb.action,
        ),
        Some(Model::IdfDataInit(verb)) => {
            execute(&IdfCommand { data_init: true }, flags, CHAPTER, verb.action)
        }
        Some(Model::RealnvpMoons(verb)) => execute(&MoonsCommand, flags, CHAPTER, verb.action),
    })
}
