//! `cargo xtask resume-drill`: kills a training run at random moments and proves it always
//! resumes to the same end.
//!
//! The model is first trained once, left alone. It is then trained again in a second directory
//! and killed `--kills` times, at random moments, alternately with SIGINT (Ctrl-C: stop after
//! the batch) or SIGKILL (no warning at all). After every kill the run must still be sampled
//! from its checkpoint, and `--resume` must continue it. The final report must equal the one
//! of the run left alone, timings aside.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};

use crate::{flag_value, run_inherited};

/// What `resume-drill` was asked for.
pub struct Options {
    kills: usize,
    crate_name: String,
    /// The model's words and flags (`vae`, `priors --prior mog --quick`).
    words: Vec<String>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let kills = match flag_value(args, "--kills")? {
            Some(n) => n.parse().context("--kills needs a number")?,
            None => 20,
        };
        let mut rest = Vec::new();
        let mut skip = false;
        for arg in args {
            if std::mem::take(&mut skip) {
                continue;
            }
            if arg == "--kills" {
                skip = true;
            } else {
                rest.push(arg.clone());
            }
        }
        let Some((crate_name, words)) = rest.split_first() else {
            bail!("usage: cargo xtask resume-drill [--kills N] CRATE WORDS... (e.g. ch04_vae vae)");
        };
        ensure!(kills > 0, "--kills must be at least 1");
        Ok(Options {
            kills,
            crate_name: crate_name.clone(),
            words: words.to_vec(),
        })
    }
}

/// A small generator for the kill moments (no dependency for a drill).
struct Lcg(u64);

impl Lcg {
    /// A number in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs the drill; Ok(true) when every kill resumed and the end matched.
pub fn resume_drill(options: &Options) -> Result<bool> {
    run_inherited(
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            &options.crate_name,
            "--bin",
            &options.crate_name,
        ],
    )?;
    let binary = PathBuf::from("target/release").join(&options.crate_name);
    let root = PathBuf::from("runs/drill").join(&options.crate_name);
    let _ = std::fs::remove_dir_all(&root);
    let (alone, drilled) = (root.join("alone"), root.join("drilled"));
    let words: Vec<&str> = options.words.iter().map(String::as_str).collect();
    let train = |out: &Path, extra: &[&str]| -> Result<Child> {
        Command::new(&binary)
            .args(&words)
            .arg("--out")
            .arg(out)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))
    };

    let start = Instant::now();
    let output = train(&alone, &[])?.wait_with_output()?;
    ensure!(
        output.status.success(),
        "the run left alone failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let alone_seconds = start.elapsed().as_secs_f64();
    println!("left alone: {alone_seconds:.1} s");

    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_nanos();
    let mut rng = Lcg(nanos as u64);
    // Kills a mean of T / 2N apart, where T is the whole run: every restart continues from the
    // last finished epoch, so the kills land all through training.
    let mean_wait = alone_seconds / (2 * options.kills) as f64;
    let mut kills = 0;
    let mut finished = false;
    while kills < options.kills && !finished {
        let resume = drilled.join("config.json").is_file();
        let mut child = train(&drilled, if resume { &["--resume"] } else { &[] })?;
        let wait = Duration::from_secs_f64(2.0 * mean_wait * rng.next());
        std::thread::sleep(wait);
        if let Some(status) = child.try_wait()? {
            let output = child.wait_with_output()?;
            ensure!(
                status.success(),
                "a resumed run failed ({status}):\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            finished = true;
            continue;
        }
        let signal = if kills % 2 == 0 { "-INT" } else { "-KILL" };
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()?;
        ensure!(status.success(), "kill {signal} failed");
        let output = child.wait_with_output()?;
        kills += 1;
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!(
            "kill {kills:>2}: {signal} after {:.2} s: {}, {}",
            wait.as_secs_f64(),
            output
                .status
                .code()
                .map_or("killed".into(), |code| format!("exit {code}")),
            epochs_saved(&drilled)
        );
        ensure!(
            !matches!(output.status.code(), Some(code) if code != 130 && code != 0),
            "the run failed after {signal}:\n{stderr}"
        );
        // Exit 0: the signal came after training, and the run finished.
        finished = output.status.success();
        if drilled.join("checkpoint.bpk").is_file() {
            sample(&binary, &words, &drilled)?;
        }
    }
    if !finished {
        let output = train(&drilled, &["--resume"])?.wait_with_output()?;
        ensure!(
            output.status.success(),
            "the last resumed run failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let (a, b) = (timeless(&alone)?, timeless(&drilled)?);
    if a == b {
        println!("{kills} kills; the resumed run's report equals the one left alone");
        Ok(true)
    } else {
        println!("the reports differ:\nleft alone: {a}\nkilled and resumed: {b}");
        Ok(false)
    }
}

/// Draws 4 images from the run's checkpoint: a killed run must stay usable.
fn sample(binary: &Path, words: &[&str], out: &Path) -> Result<()> {
    let output = Command::new(binary)
        .args(words)
        .args(["sample", "--n", "4", "--out"])
        .arg(out)
        .output()?;
    ensure!(
        output.status.success(),
        "the killed run cannot be sampled:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// How many epochs the run's snapshot holds (the second line of `snapshot.bin` is its JSON
/// header).
fn epochs_saved(dir: &Path) -> String {
    let header = std::fs::read(dir.join("snapshot.bin"))
        .ok()
        .and_then(|bytes| {
            let line = bytes.split(|&b| b == b'\n').nth(1)?.to_vec();
            serde_json::from_slice::<serde_json::Value>(&line).ok()
        });
    match header.as_ref().and_then(|h| h["epochs_done"].as_u64()) {
        Some(epochs) => format!("snapshot after {epochs} epochs"),
        None => "no snapshot yet".into(),
    }
}

/// A run's report with its timings removed.
fn timeless(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut report: serde_json::Value = serde_json::from_str(&text)?;
    for key in ["wall_seconds", "s_per_epoch"] {
        report[key] = serde_json::Value::Null;
    }
    Ok(report)
}
