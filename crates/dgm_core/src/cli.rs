//! The command-line flags every chapter shares.
//!
//! [`RunArgs`] is flattened into each chapter's clap parser with `global = true`, so the flags
//! work before or after the subcommand: `ch02_arm --quick causal-conv` and
//! `ch02_arm causal-conv --quick` mean the same.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::backend::BackendKind;

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
