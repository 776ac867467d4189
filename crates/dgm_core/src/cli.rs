//! The command-line flags every chapter shares.
//!
//! [`RunArgs`] is flattened into each chapter's clap parser with `global = true`, so the flags
//! work before or after the subcommand: `ch02_arm --quick causal-conv` and
//! `ch02_arm causal-conv --quick` mean the same.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::backend::BackendKind;
use crate::experiment::Bench;
use crate::report::Report;
use crate::run::RunContext;

/// Flags shared by all chapters.
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// The same model with a seconds-long budget: proves the plumbing and that it learns.
    #[arg(long, global = true)]
    pub quick: bool,

    /// Seed for initialisation, shuffling and sampling.
    #[arg(long, global = true, default_value_t = 0)]
    pub seed: u64,

    /// Override the preset's maximum number of epochs.
    #[arg(long, global = true)]
    pub epochs: Option<usize>,

    /// Compute backend.
    #[arg(long, global = true, value_enum, default_value_t = BackendKind::Flex)]
    pub backend: BackendKind,

    /// CPU threads (0 = one per core).
    #[arg(long, global = true, default_value_t = 0)]
    pub threads: usize,

    /// Output directory (default: runs/<chapter>/<model>/<quick|full>).
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,

    /// Where to write report.json (default: inside the output directory).
    #[arg(long, global = true)]
    pub report: Option<PathBuf>,
}

impl RunArgs {
    /// "quick" or "full": the name of the preset, used in paths and reports.
    pub fn mode(&self) -> &'static str {
        if self.quick { "quick" } else { "full" }
    }

    /// The output directory of this run of `chapter`/`model`.
    pub fn out_dir(&self, chapter: &str, model: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            PathBuf::from("runs")
                .join(chapter)
                .join(model)
                .join(self.mode())
        })
    }
}

/// What to do with a model: the verbs every chapter's models share.
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Train with early stopping, evaluate, sample, report (the default).
    Train,
    /// Reload the best checkpoint of a finished run and draw new samples.
    Sample {
        /// How many images.
        #[arg(long, default_value_t = 64)]
        n: usize,
        /// Where to write the grid (default: samples-seed<seed>.png in the run directory).
        #[arg(long)]
        grid: Option<PathBuf>,
        /// Also write the raw samples (n x dim, float32) as a .npy file.
        #[arg(long)]
        samples_out: Option<PathBuf>,
    },
    /// Time training passes and sampling; prints one JSON line.
    Bench {
        /// Timed training passes (after one warm-up pass).
        #[arg(long = "passes", default_value_t = 3)]
        passes: usize,
    },
}

/// The two settings of every model: the book's, and the same model at a seconds-long budget.
pub trait Preset: Sized {
    /// The book's settings.
    fn full() -> Self;
    /// The same model with a budget of seconds: proves the plumbing and that it learns.
    fn quick() -> Self;
    /// The field `--epochs` overrides.
    fn max_epochs(&mut self) -> &mut usize;
}

/// What one of a chapter's models offers the command line: the three verbs of [`Action`].
/// [`run_command`] does the rest.
pub trait ModelCommand {
    /// The model's name in paths and reports (`causal-conv`, `idf`, `priors-mog`).
    const MODEL: &'static str;
    /// The words that select it on the command line, when they are not its name
    /// (`priors --prior mog`).
    const COMMAND: &'static str = Self::MODEL;
    /// The resolved settings, written to `config.json`.
    type Config: Preset;
    /// The settings of a run: the config's full or quick preset, unless the model differs.
    fn preset(quick: bool) -> Self::Config {
        if quick {
            Self::Config::quick()
        } else {
            Self::Config::full()
        }
    }
    /// Trains, evaluates, samples and writes the run's outputs.
    fn train(config: &Self::Config, ctx: &RunContext) -> Result<Report>;
    /// Reloads the best checkpoint, draws `n` samples, writes a picture (at `picture` or a
    /// default path in the run directory) and, when asked, a `.npy` file. Returns the picture.
    fn sample(
        ctx: &RunContext,
        n: usize,
        picture: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf>;
    /// Times training passes and sampling.
    fn bench(config: &Self::Config, ctx: &RunContext, passes: usize) -> Result<Bench>;
}

/// Runs `action` (training by default) of model `M` of `chapter` and prints what it produced:
/// the summary of a run, the files of a reload, or one JSON line of timings.
pub fn run_command<M: ModelCommand>(
    args: &RunArgs,
    chapter: &'static str,
    action: Option<Action>,
) -> Result<()> {
    let ctx = RunContext::from_args(args, chapter, M::MODEL)?.with_command(M::COMMAND);
    let mut config = M::preset(args.quick);
    if let Some(epochs) = args.epochs {
        *config.max_epochs() = epochs;
    }
    match action.unwrap_or(Action::Train) {
        Action::Train => {
            let report = M::train(&config, &ctx)?;
            println!("\n{}", report.summary(&ctx.out_dir));
        }
        Action::Sample {
            n,
            grid,
            samples_out,
        } => {
            anyhow::ensure!(n > 0, "--n must be at least 1");
            let picture = M::sample(&ctx, n, grid, samples_out.as_deref())?;
            println!("wrote {}", picture.display());
            if let Some(path) = samples_out {
                println!("wrote {}", path.display());
            }
        }
        Action::Bench { passes } => {
            let bench = M::bench(&config, &ctx, passes)?;
            println!("{}", serde_json::to_string(&bench)?);
        }
    }
    Ok(())
}

/// The process's exit: success, or the error's message (with its causes) and a failure code,
/// never a panic trace.
pub fn exit_code(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
