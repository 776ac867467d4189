//! The command-line flags every chapter shares.
//!
//! [`RunArgs`] is flattened into each chapter's clap parser with `global = true`, so the flags
//! work before or after the subcommand: `ch02_arm --quick causal-conv` and
//! `ch02_arm causal-conv --quick` mean the same.

use std::path::PathBuf;

use clap::Args;

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
