//! `report.json`, written by every run, and the summary printed at its end.
//!
//! The metric keys are shared by all chapters (`test_nll`, `test_bpd`, `test_neg_elbo`, ...), so
//! `cargo xtask check-all` and a reader compare like with like.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// A report of one training, as every report was before `trainings` existed.
fn one() -> usize {
    1
}

/// Version of the report layout; bumped when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;
/// The burn version every crate is pinned to.
pub const BURN_VERSION: &str = "0.22.1";

/// The validation metric at the first and the best epoch: did the model learn?
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub metric: String,
    pub first: f64,
    pub best: f64,
}

/// What a report says of a run's training, whatever loop it ran: early stopping on a
/// validation metric, or a fixed number of epochs followed by a score.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSummary {
    /// How many models were trained: 1, or one per point of a sweep.
    pub trainings: usize,
    /// Epochs run (including the non-improving ones before a stop), over all the trainings.
    pub epochs_run: usize,
    /// The epoch of the kept model.
    pub best_epoch: usize,
    /// Median seconds of one training pass.
    pub s_per_epoch: f64,
    pub validation: Validation,
}

/// Everything a run reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub chapter: String,
    pub model: String,
    /// "quick" or "full".
    pub mode: String,
    pub seed: u64,
    pub backend: String,
    pub threads: usize,
    pub burn_version: String,
    pub git_revision: String,
    pub wall_seconds: f64,
    /// How many models the run trained: 1, or one per point of a sweep (each with its own
    /// report in a directory of its own); the epoch and validation fields below describe the one
    /// training of a run of 1 only.
    #[serde(default = "one")]
    pub trainings: usize,
    pub epochs_run: usize,
    pub best_epoch: usize,
    /// Median seconds of one training pass (validation excluded).
    pub s_per_epoch: f64,
    pub parameters: usize,
    pub metrics: BTreeMap<String, f64>,
    pub validation: Validation,
    /// Files the run wrote, by role ("samples" -> "samples.png"), relative to the run directory.
    pub artifacts: BTreeMap<String, String>,
    /// The resolved configuration of the model and its training.
    pub config: serde_json::Value,
}

impl Report {
    /// Writes the report as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Reads a report back.
    pub fn read(path: &Path) -> Result<Report> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a report", path.display()))
    }

    /// The one-screen summary printed at the end of a run.
    pub fn summary(&self, run_dir: &Path) -> String {
        let mut s = String::new();
        // Names padded to the longest metric name (at least the longest fixed label).
        let w = self
            .metrics
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max(14);
        let _ = writeln!(
            s,
            "{} {} ({} mode, {} backend, {} threads, seed {})",
            self.chapter, self.model, self.mode, self.backend, self.threads, self.seed
        );
        for (key, value) in &self.metrics {
            let _ = writeln!(s, "  {key:<w$} {value:.4}");
        }
        if self.trainings > 1 {
            let _ = writeln!(
                s,
                "  {:<w$} {} in {} trainings",
                "epochs", self.epochs_run, self.trainings
            );
        } else {
            let _ = writeln!(
                s,
                "  {:<w$} {} (best {}, {} {:.3} -> {:.3})",
                "epochs",
                self.epochs_run,
                self.best_epoch,
                self.validation.metric,
                self.validation.first,
                self.validation.best
            );
        }
        let _ = writeln!(
            s,
            "  {:<w$} {:.3} s (training pass only)",
            "time per epoch", self.s_per_epoch
        );
        let _ = writeln!(
            s,
            "  {:<w$} {}",
            "wall time",
            format_seconds(self.wall_seconds)
        );
        let _ = writeln!(s, "  {:<w$} {}", "parameters", self.parameters);
        let files: Vec<&str> = self.artifacts.values().map(String::as_str).collect();
        let _ = writeln!(
            s,
            "  {:<w$} {}/ {{{}}}",
            "outputs",
            run_dir.display(),
            files.join(", ")
        );
        s
    }
}

/// "1 h 02 min", "3 min 07 s" or "12.3 s".
pub fn format_seconds(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    if whole >= 3600 {
        format!("{} h {:02} min", whole / 3600, (whole % 3600) / 60)
    } else if whole >= 60 {
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{seconds:.1} s")
    }
}

/// The git revision of the working tree, with `-dirty` when it has uncommitted changes
/// ("unknown" outside a repository).
pub fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            chapter: "ch02_arm".into(),
            model: "causal-conv".into(),
            mode: "quick".into(),
            seed: 7,
            backend: "flex".into(),
            threads: 2,
            burn_version: BURN_VERSION.into(),
            git_revision: "abc".into(),
            wall_seconds: 12.5,
            trainings: 1,
            epochs_run: 3,
            best_epoch: 2,
            s_per_epoch: 0.25,
            parameters: 950_545,
            metrics: BTreeMap::from([("test_nll".into(), 99.5), ("test_bpd".into(), 2.24)]),
            validation: Validation {
                metric: "val_nll".into(),
                first: 150.0,
                best: 100.0,
            },
            artifacts: BTreeMap::from([("samples".into(), "samples.png".into())]),
            config: serde_json::json!({ "channels": 256 }),
        }
    }

    #[test]
    fn report_round_trips_through_json() {
        let path = std::env::temp_dir().join(format!("report-{}.json", std::process::id()));
        let report = example();
        report.write(&path).unwrap();
        let back = Report::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn summary_names_metrics_and_outputs() {
        let text = example().summary(Path::new("runs/x"));
        assert!(text.contains("test_nll"), "{text}");
        assert!(text.contains("99.5000"), "{text}");
        assert!(text.contains("runs/x/ {samples.png}"), "{text}");
    }

    #[test]
    fn a_sweep_counts_its_trainings_and_an_older_report_has_one() {
        let sweep = Report {
            trainings: 5,
            epochs_run: 856,
            ..example()
        };
        let text = sweep.summary(Path::new("runs/x"));
        assert!(text.contains("856 in 5 trainings"), "{text}");
        assert!(!text.contains("best"), "{text}");
        let mut json = serde_json::to_value(example()).unwrap();
        json.as_object_mut().unwrap().remove("trainings");
        let older: Report = serde_json::from_value(json).unwrap();
        assert_eq!(older.trainings, 1);
    }

    #[test]
    fn burn_version_matches_the_workspace_pin() {
        let manifest =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml"))
                .unwrap();
        assert!(
            manifest.contains(&format!("burn = {{ version = \"={BURN_VERSION}\"")),
            "Cargo.toml does not pin burn {BURN_VERSION}"
        );
    }

    #[test]
    fn seconds_are_formatted_for_people() {
        assert_eq!(format_seconds(12.34), "12.3 s");
        assert_eq!(format_seconds(187.0), "3 min 07 s");
        assert_eq!(format_seconds(3725.0), "1 h 02 min");
    }
}
