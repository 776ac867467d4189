//! `cargo run --release -p ch02_arm [-- causal-conv [train|sample|bench]]`

use std::process::ExitCode;

use anyhow::Result;
use ch02_arm::config::ArmConfig;
use ch02_arm::experiment::{CHAPTER, MODEL, bench, sample_from_checkpoint, train_and_report};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs};
use dgm_core::data::Digits;
use dgm_core::run::RunContext;

/// Chapter 2: autoregressive models.
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
    /// Tomczak's ARM with causal 1-D convolutions on the 8x8 digits (the default).
    CausalConv {
        #[command(subcommand)]
        action: Option<Action>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let Model::CausalConv { action } = cli.model.unwrap_or(Model::CausalConv { action: None });
    let ctx = RunContext::from_args(&cli.run, CHAPTER, MODEL)?;
    let mut config = if cli.run.quick {
        ArmConfig::quick()
    } else {
        ArmConfig::full()
    };
    if let Some(epochs) = cli.run.epochs {
        config.max_epochs = epochs;
    }
    match action.unwrap_or(Action::Train) {
        Action::Train => {
            let report = train_and_report(&config, &Digits::load()?, &ctx)?;
            println!("\n{}", report.summary(&ctx.out_dir));
        }
        Action::Sample {
            n,
            grid,
            samples_out,
        } => {
            let grid = sample_from_checkpoint(&ctx, n, grid, samples_out.as_deref())?;
            println!("wrote {}", grid.display());
            if let Some(path) = samples_out {
                println!("wrote {}", path.display());
            }
        }
        Action::Bench { passes } => {
            let result = bench(&config, &Digits::load()?, &ctx, passes)?;
            println!("{}", serde_json::to_string(&result)?);
        }
    }
    Ok(())
}
