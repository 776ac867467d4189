//! `cargo run --release -p ch07_score [-- fm|sbgm|sm [train|sample|bench]]`

use std::process::ExitCode;

use ch07_score::experiment::CHAPTER;
use ch07_score::experiment::fm::FlowMatching;
use ch07_score::experiment::sbgm::ScoreSde;
use ch07_score::experiment::sm::ScoreMatching;
use clap::Subcommand;
use dgm_core::cli::{Verb, execute};

/// The chapter's models.
#[derive(Subcommand, Debug)]
enum Model {
    /// Tomczak's conditional flow matching on the 8x8 digits, with an ODE likelihood (the
    /// default).
    Fm(Verb),
    /// Tomczak's score-based model on a variance-exploding SDE, sampled with the
    /// probability-flow ODE.
    Sbgm(Verb),
    /// Tomczak's denoising score matching, sampled with Langevin dynamics.
    Sm(Verb),
}

fn main() -> ExitCode {
    let about = "Chapter 7: score-based models and flow matching.";
    dgm_core::cli::main(CHAPTER, about, |model, flags| match model {
        None => execute(&FlowMatching, flags, CHAPTER, None),
        Some(Model::Fm(verb)) => execute(&FlowMatching, flags, CHAPTER, verb.action),
        Some(Model::Sbgm(verb)) => execute(&ScoreSde, flags, CHAPTER, verb.action),
        Some(Model::Sm(verb)) => execute(&ScoreMatching, flags, CHAPTER, verb.action),
    })
}
