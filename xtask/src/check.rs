//! `cargo xtask check-all`: the project's proof that everything still builds, passes its tests,
//! and learns.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::expect::{self, ModelExpect, Thresholds};
use crate::{flag_value, only_known, run_inherited};

pub struct Options {
    /// Run the book's settings instead of quick mode.
    pub full: bool,
    /// Only this chapter crate.
    pub only: Option<String>,
    /// Skip `cargo test` and the book (models only).
    pub skip_tests: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        only_known("check-all", args, &["--only"], &["--full", "--skip-tests"])?;
        Ok(Options {
            full: args.iter().any(|a| a == "--full"),
            only: flag_value(args, "--only")?.map(str::to_string),
            skip_tests: args.iter().any(|a| a == "--skip-tests"),
        })
    }
}

/// Runs the checks and prints one line per model and `N passed, M failed`.
pub fn check_all(options: &Options) -> Result<bool> {
    let mode = if options.full { "full" } else { "quick" };
    let mut passed = 0;
    let mut failed = 0;
    let mut lines = Vec::new();

    if !options.skip_tests {
        let tests = run_inherited("cargo", &["test", "--workspace", "--release"]);
        record(
            &mut lines,
            &mut passed,
            &mut failed,
            "cargo test --workspace",
            tests.err().map(|e| format!("{e:#}")),
        );
        let book = crate::book::book(&crate::book::Options::default());
        let book_failure = match book {
            Ok(true) => None,
            Ok(false) => Some("see the messages above".to_string()),
            Err(e) => Some(format!("{e:#}")),
        };
        record(&mut lines, &mut passed, &mut failed, "book", book_failure);
        let circles = crate::imports::circles(Path::new("crates"));
        let circle_failure = match circles {
            Ok(circles) if circles.is_empty() => None,
            Ok(circles) => Some(circles.join("; ")),
            Err(e) => Some(format!("{e:#}")),
        };
        record(
            &mut lines,
            &mut passed,
            &mut failed,
            "no import circle",
            circle_failure,
        );
    }

    run_inherited("cargo", &["build", "--release", "--workspace", "--bins"])?;
    for chapter in expect::chapters(options.only.as_deref())? {
        for model in &chapter.expect.models {
            let thresholds = if options.full {
                &model.full
            } else {
                &model.quick
            };
            let name = format!("{} {} ({mode})", chapter.name, model.name);
            let outcome = run_model(&chapter.name, model, options.full, thresholds);
            let failure = match outcome {
                Ok((summary, failures)) if failures.is_empty() => {
                    lines.push(format!("PASS {name}: {summary}"));
                    passed += 1;
                    continue;
                }
                Ok((summary, failures)) => format!("{summary}; {}", failures.join("; ")),
                Err(e) => format!("{e:#}"),
            };
            record(&mut lines, &mut passed, &mut failed, &name, Some(failure));
        }
    }

    println!();
    for line in &lines {
        println!("{line}");
    }
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}

fn record(
    lines: &mut Vec<String>,
    passed: &mut usize,
    failed: &mut usize,
    name: &str,
    failure: Option<String>,
) {
    match failure {
        None => {
            lines.push(format!("PASS {name}"));
            *passed += 1;
        }
        Some(why) => {
            lines.push(format!("FAIL {name}: {why}"));
            *failed += 1;
        }
    }
}

/// Runs one model as a subprocess and checks its report. Returns a short summary and the
/// failed checks.
fn run_model(
    chapter: &str,
    model: &ModelExpect,
    full: bool,
    thresholds: &Thresholds,
) -> Result<(String, Vec<String>)> {
    let mode = if full { "full" } else { "quick" };
    let out = Path::new("runs").join(chapter).join(&model.name).join(mode);
    let report_path = out.join("report.json");
    // A stale report must not pass for a run that failed.
    let _ = std::fs::remove_file(&report_path);

    let out_arg = out.to_string_lossy().into_owned();
    let command = model.command();
    let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
    args.extend(["--out", &out_arg]);
    if !full {
        args.push("--quick");
    }
    println!("$ {} {}", expect::binary(chapter).display(), args.join(" "));
    let start = Instant::now();
    let mut child = Command::new(expect::binary(chapter))
        .args(&args)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", expect::binary(chapter).display()))?;
    let limit = Duration::from_secs_f64(thresholds.timeout_minutes * 60.0);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {} minutes", thresholds.timeout_minutes);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !status.success() {
        bail!("exited with {status}");
    }
    let text = std::fs::read_to_string(&report_path)
        .with_context(|| format!("no report at {}", report_path.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", report_path.display()))?;
    let metrics: Vec<String> = report["metrics"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k} {}", short(v))).collect())
        .unwrap_or_default();
    let summary = format!(
        "{}, {} epochs, {:.0} s",
        metrics.join(", "),
        report["epochs_run"],
        start.elapsed().as_secs_f64()
    );
    Ok((summary, expect::failures(&report, thresholds)))
}

fn short(v: &serde_json::Value) -> String {
    v.as_f64()
        .map_or_else(|| v.to_string(), |x| format!("{x:.3}"))
}
