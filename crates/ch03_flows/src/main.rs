//! `cargo run --release -p ch03_flows [-- realnvp|idf|idf-data-init|realnvp-moons [train|sample|bench]]`

use std::process::ExitCode;

use ch03_flows::experiment::CHAPTER;
use ch03_flows::experiment::idf::IdfCommand;
use ch03_flows::experiment::moons::MoonsCommand;
use ch03_flows::experiment::realnvp::RealNvpCommand;
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs, exit_code, run};

/// Chapter 3: flows.
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
    let cli = Cli::parse();
    let args = &cli.run;
    let idf = |data_init| IdfCommand { data_init };
    let result = match cli.model {
        None => run(&RealNvpCommand, args, CHAPTER, None),
        Some(Model::Realnvp { action }) => run(&RealNvpCommand, args, CHAPTER, action),
        Some(Model::Idf { action }) => run(&idf(false), args, CHAPTER, action),
        Some(Model::IdfDataInit { action }) => run(&idf(true), args, CHAPTER, action),
        Some(Model::RealnvpMoons { action }) => run(&MoonsCommand, args, CHAPTER, action),
    };
    exit_code(result)
}
