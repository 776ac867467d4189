//! How the flow-matching test likelihood depends on the ODE solver's step count: reloads the
//! best checkpoint of a finished `fm` run and integrates the test split with each given number
//! of Euler time points.
//!
//! `cargo run --release -p ch07_score --example ode_steps -- --points 100 200 400`

use anyhow::Result;
use ch07_score::config::FmConfig;
use ch07_score::experiment::fm::FlowMatching;
use ch07_score::experiment::{CHAPTER, ode_nll};
use ch07_score::fm::{log_likelihood, vector_field};
use clap::Parser;
use dgm_core::cli::Flags;
use dgm_core::data::Digits;
use dgm_core::experiment::{DigitModel, reload};

/// The test NLL of a trained flow-matching model at several step counts.
#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    run: Flags,
    /// Time points of the Euler scheme (the book's run uses 100).
    #[arg(long, num_args = 1.., default_values_t = [100, 200, 400, 800])]
    points: Vec<usize>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let ctx = cli
        .run
        .context(CHAPTER, FlowMatching.name(), FlowMatching.words())?;
    let (_, _config, field): (_, FmConfig, _) = reload(&ctx, vector_field)?;
    let digits = Digits::load()?;
    println!("points  test_nll_ode (nats, [-1, 1] scale)");
    for points in cli.points {
        let nll = ode_nll(&field, &digits.test, &ctx.device, |field, x| {
            log_likelihood(field, x, points)
        });
        println!("{points:>6}  {nll:.4}");
    }
    Ok(())
}
