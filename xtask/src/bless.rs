//! `cargo xtask bless`: copies what the full runs produced into the book, so that the pages show
//! real output: the sample grid, the test images, the learning curve and a table of the numbers.
//!
//! For every model of every `expect.toml` whose full run exists (`runs/<crate>/<model>/full/`),
//! it copies the pictures and the summary the report lists among its artifacts (every `.png` and
//! `summary.txt`: for a digit model `samples.png`, `real.png`, `curve.png`) into
//! `book/src/generated/<crate>/<model>/`, and writes `results.md` beside them. Then it writes
//! `book/src/generated/sample_scores.md`: every blessed model's sample score, best first, and the
//! gallery page from what it copied ([`crate::gallery`]), and rewrites every marked result number
//! of the pages and READMEs ([`crate::results`]). It refuses a dirty working tree and any run
//! made from uncommitted code.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::{expect, results};

/// Whether an artifact is copied into the book: the pictures and the summary the run printed.
fn shown_in_book(file: &str) -> bool {
    file.ends_with(".png") || file.ends_with(".txt")
}

pub fn bless() -> Result<bool> {
    // The book shows what a commit's code produced: start from a clean tree, so that the
    // blessed files are the only change, and bless no run made from uncommitted code.
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .context("cannot run git status")?;
    let changes = String::from_utf8_lossy(&status.stdout);
    if !changes.trim().is_empty() {
        bail!("bless needs a clean working tree (commit or stash first):\n{changes}");
    }
    let mut blessed = 0;
    for chapter in expect::chapters(None)? {
        for model in &chapter.expect.models {
            let run = Path::new("runs")
                .join(&chapter.name)
                .join(&model.name)
                .join("full");
            let report_path = run.join("report.json");
            if !report_path.is_file() {
                println!(
                    "skip {} {}: no full run (cargo run --release -p {} -- {})",
                    chapter.name,
                    model.name,
                    chapter.name,
                    model.command().join(" ")
                );
                continue;
            }
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&report_path)?)
                    .with_context(|| format!("{} is not JSON", report_path.display()))?;
            let revision = report["git_revision"].as_str().unwrap_or("unknown");
            if revision.ends_with("-dirty") || revision == "unknown" {
                bail!(
                    "{} was made from uncommitted code ({revision}): run it again from a commit",
                    report_path.display()
                );
            }
            let target = Path::new("book/src/generated")
                .join(&chapter.name)
                .join(&model.name);
            std::fs::create_dir_all(&target)?;
            let artifacts = report["artifacts"].as_object().into_iter().flatten();
            for file in artifacts.filter_map(|(_, file)| file.as_str()) {
                if shown_in_book(file) {
                    std::fs::copy(run.join(file), target.join(file))
                        .with_context(|| format!("cannot copy {file} of {}", run.display()))?;
                }
            }
            std::fs::write(target.join("results.md"), results_table(&report)?)?;
            println!("blessed {}", target.display());
            blessed += 1;
        }
    }
    std::fs::write(
        "book/src/generated/sample_scores.md",
        sample_score_table(blessed_scores(Path::new("book/src/generated"))?)?,
    )?;
    crate::gallery::write(Path::new("book/src"))?;
    println!("wrote book/src/gallery.md");
    crate::likelihoods::write(Path::new("book/src"))?;
    println!("wrote book/src/generated/likelihoods.md");
    let src = Path::new("book/src");
    for file in results::rewrite(&results::prose_files(src)?, &src.join("generated"))? {
        println!("rewrote the marked numbers of {}", file.display());
    }
    println!("{blessed} models blessed");
    Ok(true)
}

/// (sample_fd, sample_confidence, crate, model) of every blessed digit model, from the summaries
/// in `generated`: the models blessed now and the ones blessed before.
fn blessed_scores(generated: &Path) -> Result<Vec<(f64, f64, String, String)>> {
    let mut scores = Vec::new();
    for chapter in expect::chapters(None)? {
        for model in &chapter.expect.models {
            let path = generated
                .join(&chapter.name)
                .join(&model.name)
                .join("summary.txt");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let values = results::parse_summary(&text);
            let number = |key: &str| match values.get(key) {
                Some(results::Value::Number(v)) => Some(*v),
                _ => None,
            };
            if let (Some(fd), Some(confidence)) = (number("sample_fd"), number("sample_confidence"))
            {
                scores.push((fd, confidence, chapter.name.clone(), model.name.clone()));
            }
        }
    }
    Ok(scores)
}

/// Every model's sample score as a Markdown table, lowest `sample_fd` first.
fn sample_score_table(mut scores: Vec<(f64, f64, String, String)>) -> Result<String> {
    scores.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut table = String::from(
        "| chapter | model | `sample_fd` | `sample_confidence` |\n|---|---|---|---|\n",
    );
    for (fd, confidence, chapter, model) in scores {
        writeln!(
            table,
            "| [{chapter}]({chapter}.md) | `{model}` | {fd:.1} | {confidence:.3} |"
        )?;
    }
    Ok(table)
}

/// The numbers of a report as a Markdown table.
fn results_table(report: &serde_json::Value) -> Result<String> {
    let mut table = String::from("| quantity | value |\n|---|---|\n");
    if let Some(metrics) = report["metrics"].as_object() {
        for (key, value) in metrics {
            let value = value
                .as_f64()
                .map_or_else(|| value.to_string(), |v| format!("{v:.3}"));
            writeln!(table, "| `{key}` | {value} |")?;
        }
    }
    let number = |key: &str| report[key].as_f64().unwrap_or(f64::NAN);
    // A sweep trains several models, each with its own report; a report without the field is
    // of one training.
    let trainings = report["trainings"].as_u64().unwrap_or(1);
    if trainings > 1 {
        writeln!(
            table,
            "| epochs | {} in {trainings} trainings |",
            report["epochs_run"]
        )?;
    } else {
        writeln!(
            table,
            "| epochs (best) | {} ({}) |",
            report["epochs_run"], report["best_epoch"]
        )?;
        writeln!(
            table,
            "| validation {} (first epoch → best) | {:.3} → {:.3} |",
            report["validation"]["metric"].as_str().unwrap_or("metric"),
            report["validation"]["first"].as_f64().unwrap_or(f64::NAN),
            report["validation"]["best"].as_f64().unwrap_or(f64::NAN)
        )?;
    }
    writeln!(
        table,
        "| seconds per training pass | {:.2} |",
        number("s_per_epoch")
    )?;
    writeln!(table, "| wall time (s) | {:.0} |", number("wall_seconds"))?;
    writeln!(table, "| parameters | {} |", report["parameters"])?;
    writeln!(
        table,
        "| backend, threads, seed | {}, {}, {} |",
        report["backend"].as_str().unwrap_or("?"),
        report["threads"],
        report["seed"]
    )?;
    writeln!(
        table,
        "| burn, git revision | {}, `{}` |",
        report["burn_version"].as_str().unwrap_or("?"),
        report["git_revision"].as_str().unwrap_or("?")
    )?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_scores_are_listed_best_first() {
        let table = sample_score_table(vec![
            (94.0, 0.7, "ch06_diffusion".into(), "ddgm".into()),
            (12.0, 0.9, "ch10_gan".into(), "gan".into()),
        ])
        .unwrap();
        let gan = table.find("`gan`").unwrap();
        let ddgm = table.find("`ddgm`").unwrap();
        assert!(gan < ddgm, "{table}");
        assert!(table.contains("| [ch10_gan](ch10_gan.md) | `gan` | 12.0 | 0.900 |"));
    }

    #[test]
    fn the_table_lists_metrics_and_provenance() {
        let report = serde_json::json!({
            "metrics": { "test_nll": 86.123456 },
            "epochs_run": 70, "best_epoch": 49,
            "validation": { "metric": "val_nll", "first": 120.0, "best": 88.0 },
            "s_per_epoch": 3.5, "wall_seconds": 300.0, "parameters": 950545,
            "backend": "flex", "threads": 2, "seed": 0,
            "burn_version": "0.22.1", "git_revision": "abc"
        });
        let table = results_table(&report).unwrap();
        assert!(table.contains("| `test_nll` | 86.123 |"), "{table}");
        assert!(table.contains("| epochs (best) | 70 (49) |"), "{table}");
        assert!(table.contains("120.000 → 88.000"), "{table}");
    }
}
