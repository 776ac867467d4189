//! `cargo xtask bench`: seconds per training pass of each model's full configuration, at each
//! thread count, beside PyTorch's on this machine kind (from `expect.toml`).
//!
//! Timings mean something only on an otherwise idle machine: on 2 cores, a second busy process
//! makes two threads slower than one.

use std::fmt::Write as _;
use std::process::Command;

use anyhow::{Context, Result, anyhow};

use crate::expect;
use crate::{flag_value, run_inherited, stdout_of};

pub struct Options {
    pub only: Option<String>,
    pub threads: Vec<usize>,
    pub passes: usize,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let threads = match flag_value(args, "--threads")? {
            None => vec![1, 2],
            Some(list) => list
                .split(',')
                .map(|t| t.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .context("--threads takes a list like 1,2")?,
        };
        let passes = match flag_value(args, "--passes")? {
            None => 3,
            Some(p) => p.parse().context("--passes takes a number")?,
        };
        Ok(Options {
            only: flag_value(args, "--only")?.map(str::to_string),
            threads,
            passes,
        })
    }
}

/// Runs every model's `bench` verb and prints (and writes `runs/bench.md`) a table.
pub fn bench(options: &Options) -> Result<bool> {
    run_inherited("cargo", &["build", "--release", "--workspace", "--bins"])?;
    let mut table = String::from(
        "| chapter | model | threads | burn s/epoch | PyTorch s/epoch | burn / PyTorch | sample 64 (s) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for chapter in expect::chapters(options.only.as_deref())? {
        for model in &chapter.expect.models {
            for &threads in &options.threads {
                let output = Command::new(expect::binary(&chapter.name))
                    .args(model.command())
                    .args([
                        "--threads",
                        &threads.to_string(),
                        "bench",
                        "--passes",
                        &options.passes.to_string(),
                    ])
                    .output()
                    .with_context(|| format!("cannot run {}", chapter.name))?;
                let stdout = stdout_of(output, |stderr| {
                    anyhow!("{} {} bench failed:\n{stderr}", chapter.name, model.name)
                })?;
                let stdout = String::from_utf8_lossy(&stdout);
                let line = stdout.lines().last().unwrap_or_default();
                let result: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("bench output is not JSON: {line}"))?;
                let burn = result["s_per_epoch"].as_f64().unwrap_or(f64::NAN);
                let sample = result["sample_seconds"].as_f64().unwrap_or(f64::NAN);
                let torch = model.pytorch_s_per_epoch.get(&threads.to_string()).copied();
                let (torch_text, ratio) = match torch {
                    Some(t) => (format!("{t:.3}"), format!("{:.2}", burn / t)),
                    None => ("-".to_string(), "-".to_string()),
                };
                writeln!(
                    table,
                    "| {} | {} | {threads} | {burn:.3} | {torch_text} | {ratio} | {sample:.3} |",
                    chapter.name, model.name
                )?;
                println!(
                    "{} {} threads={threads}: {burn:.3} s/epoch",
                    chapter.name, model.name
                );
            }
        }
    }
    println!("\n{table}");
    std::fs::create_dir_all("runs")?;
    std::fs::write("runs/bench.md", &table)?;
    println!("wrote runs/bench.md");
    Ok(true)
}
