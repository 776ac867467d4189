//! Repository automation: `cargo xtask <command>`. No burn dependency, so it builds in seconds.
//!
//! | command | does |
//! |---|---|
//! | `check-all [--full] [--only CRATE,...] [--skip-tests]` | tests, book check, no import circle in any crate, then every chapter model against its `expect.toml` |
//! | `bench [--vs-pytorch] [--only CRATE,...] [--threads 1,2] [--passes N] [--rounds N]` | seconds per training pass; with `--vs-pytorch`, beside each model's PyTorch twin run alternately |
//! | `book [--fix] [--no-browser]` | checks the book's sources, builds it, opens every page in headless Chromium |
//! | `datasets fetch <name>` | gets a dataset with the ordinary package clients and verifies it |
//! | `bless` | copies the full runs' pictures and numbers into the book, writes its gallery |
//! | `resume-drill [--kills N] CRATE WORDS...` | kills a run at random moments; every kill must resume to the same report |

mod bench;
mod bless;
mod book;
mod browser;
mod check;
mod datasets;
mod drill;
mod expect;
mod gallery;
mod imports;
mod likelihoods;
mod lint;
mod listings;
mod results;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <command>
  check-all [--full] [--only CRATE,...] [--skip-tests]   tests, book, every chapter model vs expect.toml
  bench [--vs-pytorch] [--only CRATE,...] [--threads 1,2] [--passes N] [--rounds N]
                                                     seconds per training pass; --vs-pytorch runs each
                                                     model's PyTorch twin in bench/ alternately with it
                                                     (the Python named by DGM_TORCH_PYTHON)
  book [--fix] [--no-browser]                        check the book's sources, build it, look at every page
                                                     in headless Chromium (--fix renumbers the listings and
                                                     rewrites the gallery)
  datasets fetch <name>                              fetch a dataset (names: digits, smiles, shakespeare)
  bless                                              copy the full runs' pictures and numbers into the book,
                                                     write its gallery page
  resume-drill [--kills N] CRATE WORDS...            kill a run N times (default 20) at random moments; each
                                                     kill must resume, and the end must equal a run left alone";

/// Runs a command; Ok(true) when it succeeded.
fn run(args: &[String]) -> Result<bool> {
    let root = workspace_root();
    std::env::set_current_dir(&root).with_context(|| format!("cannot enter {}", root.display()))?;
    let Some(command) = args.first() else {
        println!("{USAGE}");
        return Ok(false);
    };
    let rest = &args[1..];
    if rest.iter().any(|a| a == "--help" || a == "-h") && command != "resume-drill" {
        println!("{USAGE}");
        return Ok(true);
    }
    match command.as_str() {
        "check-all" => check::check_all(&check::Options::parse(rest)?),
        "bench" => bench::bench(&bench::Options::parse(rest)?),
        "book" => book::book(&book::Options::parse(rest)?),
        "bless" => bless::bless(),
        "resume-drill" => drill::resume_drill(&drill::Options::parse(rest)?),
        "datasets" => match rest {
            [verb, name] if verb == "fetch" => datasets::fetch(name).map(|()| true),
            _ => bail!("usage: cargo xtask datasets fetch <name>"),
        },
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(true)
        }
        other => bail!("unknown command `{other}`\n{USAGE}"),
    }
}

/// The workspace root (the parent of this crate).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Runs `program args`, inheriting the terminal; fails unless it exits with success.
fn run_inherited(program: &str, args: &[&str]) -> Result<()> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("cannot start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// What a finished command wrote to standard output when it exited with success; otherwise the
/// error that `failure` makes of what it wrote to standard error.
fn stdout_of(output: Output, failure: impl FnOnce(&str) -> anyhow::Error) -> Result<Vec<u8>> {
    if !output.status.success() {
        return Err(failure(&String::from_utf8_lossy(&output.stderr)));
    }
    Ok(output.stdout)
}

/// Fails on any argument of `command` other than the flags in `valued` (each followed by its
/// value) and in `switches`: a mistyped flag must stop a command, not start an hour of work
/// without it.
fn only_known(command: &str, args: &[String], valued: &[&str], switches: &[&str]) -> Result<()> {
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if valued.contains(&word.as_str()) {
            words.next();
        } else if !switches.contains(&word.as_str()) {
            bail!("{command}: unknown argument `{word}`\n{USAGE}");
        }
    }
    Ok(())
}

/// The value after `flag` in `args`, if present.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Result<Option<&'a str>> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .map(|v| Some(v.as_str()))
            .with_context(|| format!("{flag} needs a value")),
    }
}
