//! `cargo run --release -p ch03_flows [-- realnvp|idf|realnvp-moons [train|sample|bench]]`

use std::process::ExitCode;

use anyhow::Result;
use ch03_flows::config::{IdfConfig, MoonsConfig, RealNvpConfig};
use ch03_flows::experiments::{CHAPTER, idf, moons, realnvp};
use clap::{Parser, Subcommand};
use dgm_core::cli::{Action, RunArgs};
use dgm_core::data::Digits;
use dgm_core::experiment::Bench;
use dgm_core::report::Report;
use dgm_core::run::RunContext;

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
    /// Foster's RealNVP on two moons, with the four pictures of the map.
    RealnvpMoons {
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

/// What a verb printed: the summary of a training run, the files of a reload, a bench line.
enum Outcome {
    Trained(Box<Report>),
    Sampled(Vec<std::path::PathBuf>),
    Timed(Bench),
}

fn run(cli: Cli) -> Result<()> {
    let args = &cli.run;
    let with_epochs = |max_epochs: &mut usize| {
        if let Some(epochs) = args.epochs {
            *max_epochs = epochs;
        }
    };
    let (ctx, outcome) = match cli.model.unwrap_or(Model::Realnvp { action: None }) {
        Model::Realnvp { action } => {
            let ctx = RunContext::from_args(args, CHAPTER, realnvp::MODEL)?;
            let mut config = if args.quick {
                RealNvpConfig::quick()
            } else {
                RealNvpConfig::full()
            };
            with_epochs(&mut config.max_epochs);
            let outcome = match action.unwrap_or(Action::Train) {
                Action::Train => Outcome::Trained(Box::new(realnvp::train_and_report(
                    &config,
                    &Digits::load()?,
                    &ctx,
                )?)),
                Action::Sample {
                    n,
                    grid,
                    samples_out,
                } => Outcome::Sampled(with_npy(
                    realnvp::sample_from_checkpoint(&ctx, n, grid, samples_out.as_deref())?,
                    samples_out,
                )),
                Action::Bench { passes } => {
                    Outcome::Timed(realnvp::bench(&config, &Digits::load()?, &ctx, passes)?)
                }
            };
            (ctx, outcome)
        }
        Model::Idf { action } => {
            let ctx = RunContext::from_args(args, CHAPTER, idf::MODEL)?;
            let mut config = if args.quick {
                IdfConfig::quick()
            } else {
                IdfConfig::full()
            };
            with_epochs(&mut config.max_epochs);
            let outcome = match action.unwrap_or(Action::Train) {
                Action::Train => Outcome::Trained(Box::new(idf::train_and_report(
                    &config,
                    &Digits::load()?,
                    &ctx,
                )?)),
                Action::Sample {
                    n,
                    grid,
                    samples_out,
                } => Outcome::Sampled(with_npy(
                    idf::sample_from_checkpoint(&ctx, n, grid, samples_out.as_deref())?,
                    samples_out,
                )),
                Action::Bench { passes } => {
                    Outcome::Timed(idf::bench(&config, &Digits::load()?, &ctx, passes)?)
                }
            };
            (ctx, outcome)
        }
        Model::RealnvpMoons { action } => {
            let ctx = RunContext::from_args(args, CHAPTER, moons::MODEL)?;
            let mut config = if args.quick {
                MoonsConfig::quick()
            } else {
                MoonsConfig::full()
            };
            with_epochs(&mut config.epochs);
            let outcome = match action.unwrap_or(Action::Train) {
                Action::Train => {
                    Outcome::Trained(Box::new(moons::train_and_report(&config, &ctx)?))
                }
                Action::Sample {
                    n,
                    grid,
                    samples_out,
                } => Outcome::Sampled(with_npy(
                    moons::sample_from_checkpoint(&ctx, n, grid, samples_out.as_deref())?,
                    samples_out,
                )),
                Action::Bench { passes } => Outcome::Timed(moons::bench(&config, &ctx, passes)?),
            };
            (ctx, outcome)
        }
    };
    match outcome {
        Outcome::Trained(report) => println!("\n{}", report.summary(&ctx.out_dir)),
        Outcome::Sampled(paths) => {
            for path in paths {
                println!("wrote {}", path.display());
            }
        }
        Outcome::Timed(bench) => println!("{}", serde_json::to_string(&bench)?),
    }
    Ok(())
}

/// The picture a reload wrote, and the `.npy` file when one was asked for.
fn with_npy(
    picture: std::path::PathBuf,
    npy: Option<std::path::PathBuf>,
) -> Vec<std::path::PathBuf> {
    std::iter::once(picture).chain(npy).collect()
}
