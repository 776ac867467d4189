//! `cargo xtask bless`: copies what the full runs produced into the book, so that the pages show
//! real output: the sample grid, the test images, the learning curve and a table of the numbers.
//!
//! For every model of every `expect.toml` whose full run exists (`runs/<crate>/<model>/full/`),
//! it copies the pictures and the summary the report lists among its artifacts (every `.png` and
//! `summary.txt`: for a digit model `samples.png`, `real.png`, `curve.png`) into
//! `book/src/generated/<crate>/<model>/`, and writes `results.md` beside them.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::expect;

/// Whether an artifact is copied into the book: the pictures and the summary the run printed.
fn shown_in_book(file: &str) -> bool {
    file.ends_with(".png") || file == "summary.txt"
}

pub fn bless() -> Result<bool> {
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
    println!("{blessed} models blessed");
    Ok(true)
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
