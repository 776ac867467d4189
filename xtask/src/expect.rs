//! A chapter's `expect.toml`: its models and what their reports must show.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// One chapter crate with an `expect.toml`.
#[derive(Debug)]
pub struct Chapter {
    /// The crate and binary name (`ch02_arm`).
    pub name: String,
    pub expect: Expect,
}

/// The contents of `expect.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(rename = "model")]
    pub models: Vec<ModelExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelExpect {
    /// The model's name: its run directory and, unless `args` says otherwise, its subcommand.
    pub name: String,
    /// The words that select the model on the command line, when they are not its name.
    #[serde(default)]
    pub args: Vec<String>,
    pub quick: Thresholds,
    pub full: Thresholds,
    /// The model's PyTorch twin for `cargo xtask bench --vs-pytorch`: a script in `bench/` and
    /// its arguments (`pytorch_ch04_vae.py --model vae`).
    pub twin: Option<String>,
    /// Training passes `bench` times for this model, when fewer than `--passes` (the
    /// transformers, whose pass takes minutes).
    pub bench_passes: Option<usize>,
}

/// What a report must show in one mode. Every metric must always be finite.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub timeout_minutes: f64,
    /// The best validation metric must be strictly below the first epoch's.
    #[serde(default)]
    pub validation_improved: bool,
    /// Metrics that must be at or below a value.
    #[serde(default)]
    pub max: BTreeMap<String, f64>,
    /// Metrics that must be at or above a value.
    #[serde(default)]
    pub min: BTreeMap<String, f64>,
}

impl ModelExpect {
    /// The command-line words that select this model.
    pub fn command(&self) -> Vec<String> {
        if self.args.is_empty() {
            vec![self.name.clone()]
        } else {
            self.args.clone()
        }
    }
}

/// Every `crates/*/expect.toml`, sorted by crate name; `only` keeps the crates of a
/// comma-separated list (`ch03_flows,ch04_vae`).
pub fn chapters(only: Option<&str>) -> Result<Vec<Chapter>> {
    let wanted: Option<Vec<&str>> = only.map(|o| o.split(',').map(str::trim).collect());
    let mut chapters = Vec::new();
    for entry in std::fs::read_dir("crates").context("cannot list crates/")? {
        let dir = entry?.path();
        let path = dir.join("expect.toml");
        if !path.is_file() {
            continue;
        }
        let name = file_name(&dir);
        if wanted.as_ref().is_some_and(|w| !w.contains(&name.as_str())) {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let expect = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
        chapters.push(Chapter { name, expect });
    }
    chapters.sort_by(|a, b| a.name.cmp(&b.name));
    for name in wanted.unwrap_or_default() {
        anyhow::ensure!(
            chapters.iter().any(|c| c.name == name),
            "no crate `{name}` with an expect.toml"
        );
    }
    Ok(chapters)
}

fn file_name(dir: &Path) -> String {
    dir.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The release binary of a chapter.
pub fn binary(chapter: &str) -> PathBuf {
    Path::new("target/release").join(chapter)
}

/// The checks of one report: a list of failures (empty when it passes).
pub fn failures(report: &serde_json::Value, thresholds: &Thresholds) -> Vec<String> {
    let mut failures = Vec::new();
    let metrics = report["metrics"].as_object().cloned().unwrap_or_default();
    if metrics.is_empty() {
        failures.push("the report has no metrics".to_string());
    }
    for (key, value) in &metrics {
        if !value.as_f64().is_some_and(f64::is_finite) {
            failures.push(format!("{key} is not finite ({value})"));
        }
    }
    let metric = |key: &str| metrics.get(key).and_then(serde_json::Value::as_f64);
    for (key, limit) in &thresholds.max {
        match metric(key) {
            Some(v) if v <= *limit => {}
            Some(v) => failures.push(format!("{key} {v:.3} > {limit}")),
            None => failures.push(format!("{key} missing")),
        }
    }
    for (key, limit) in &thresholds.min {
        match metric(key) {
            Some(v) if v >= *limit => {}
            Some(v) => failures.push(format!("{key} {v:.3} < {limit}")),
            None => failures.push(format!("{key} missing")),
        }
    }
    if thresholds.validation_improved {
        let first = report["validation"]["first"].as_f64();
        let best = report["validation"]["best"].as_f64();
        match (first, best) {
            (Some(first), Some(best)) if best < first => {}
            _ => failures.push(format!(
                "validation did not improve (first {first:?}, best {best:?})"
            )),
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds() -> Thresholds {
        toml::from_str(
            "timeout_minutes = 1\nvalidation_improved = true\nmax = { test_nll = 100.0 }",
        )
        .unwrap()
    }

    #[test]
    fn a_good_report_passes() {
        let report = serde_json::json!({
            "metrics": { "test_nll": 90.0, "test_bpd": 2.0 },
            "validation": { "first": 150.0, "best": 95.0 }
        });
        assert!(failures(&report, &thresholds()).is_empty());
    }

    #[test]
    fn each_check_can_fail() {
        let report = serde_json::json!({
            "metrics": { "test_nll": 120.0, "test_bpd": null },
            "validation": { "first": 95.0, "best": 95.0 }
        });
        let found = failures(&report, &thresholds());
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().any(|f| f.contains("test_bpd is not finite")));
        assert!(found.iter().any(|f| f.contains("test_nll 120.000 > 100")));
        assert!(
            found
                .iter()
                .any(|f| f.contains("validation did not improve"))
        );
    }

    #[test]
    fn a_missing_metric_fails() {
        let report = serde_json::json!({
            "metrics": { "other": 1.0 },
            "validation": { "first": 2.0, "best": 1.0 }
        });
        assert_eq!(failures(&report, &thresholds()), ["test_nll missing"]);
    }

    #[test]
    fn the_repository_expect_files_parse() {
        std::env::set_current_dir(crate::workspace_root()).unwrap();
        let chapters = chapters(None).unwrap();
        assert!(chapters.iter().any(|c| c.name == "ch02_arm"));
    }
}
