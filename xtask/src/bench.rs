//! `cargo xtask bench`: seconds per training pass of each model's full configuration, at each
//! thread count; with `--vs-pytorch`, beside its PyTorch twin in `bench/`, run alternately.
//!
//! Timings mean something only on an otherwise idle machine: on 2 cores, a second busy process
//! makes two threads slower than one. Only ratios from one run count: machines of one kind
//! differ from session to session, so no PyTorch time is stored anywhere.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

use crate::expect::{self, ModelExpect};
use crate::{flag_value, only_known, run_inherited, stdout_of};

/// The environment variable naming the Python that has torch.
const PYTHON_VARIABLE: &str = "DGM_TORCH_PYTHON";

pub struct Options {
    pub only: Option<String>,
    pub threads: Vec<usize>,
    pub passes: usize,
    /// Each side is run this many times, alternating (A B A B for 2); the lesser median counts.
    pub rounds: usize,
    /// The Python that runs the PyTorch twins, when comparing with them.
    pub python: Option<PathBuf>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        only_known(
            "bench",
            args,
            &["--only", "--threads", "--passes", "--rounds"],
            &["--vs-pytorch"],
        )?;
        let threads = match flag_value(args, "--threads")? {
            None => vec![1, 2],
            Some(list) => list
                .split(',')
                .map(|t| t.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .context("--threads takes a list like 1,2")?,
        };
        let number = |flag: &str, default: usize| -> Result<usize> {
            match flag_value(args, flag)? {
                None => Ok(default),
                Some(p) => match p.parse() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => bail!("{flag} takes a number of at least 1, not `{p}`"),
                },
            }
        };
        let python = if args.iter().any(|a| a == "--vs-pytorch") {
            Some(torch_python()?)
        } else {
            None
        };
        Ok(Options {
            only: flag_value(args, "--only")?.map(str::to_string),
            threads,
            passes: number("--passes", 3)?,
            rounds: number("--rounds", 2)?,
            python,
        })
    }
}

/// The Python named by `DGM_TORCH_PYTHON` (or `python3`), once it has shown it can import torch.
fn torch_python() -> Result<PathBuf> {
    let python = std::env::var_os(PYTHON_VARIABLE).map_or_else(|| "python3".into(), PathBuf::from);
    let output = Command::new(&python)
        .args(["-c", "import torch; print(torch.__version__)"])
        .output();
    match output {
        Ok(o) if o.status.success() => {
            let version = String::from_utf8_lossy(&o.stdout);
            println!("PyTorch {} ({})", version.trim(), python.display());
            Ok(python)
        }
        _ => bail!(
            "--vs-pytorch needs a Python that can import torch, and `{}` cannot.\n\
             Make one outside the workspace and name it:\n    \
             python3 -m venv ../torch-venv && ../torch-venv/bin/pip install torch numpy\n    \
             {PYTHON_VARIABLE}=../torch-venv/bin/python cargo xtask bench --vs-pytorch",
            python.display()
        ),
    }
}

/// One timed side of a comparison: the median seconds per pass its command printed.
fn seconds_per_pass(mut command: Command, what: &str) -> Result<f64> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    let stdout = stdout_of(output, |stderr| anyhow!("{what} failed:\n{stderr}"))?;
    let stdout = String::from_utf8_lossy(&stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let result: serde_json::Value = serde_json::from_str(line)
        .with_context(|| format!("{what} did not end with a JSON line: {line}"))?;
    result["s_per_epoch"]
        .as_f64()
        .with_context(|| format!("{what} printed no s_per_epoch: {line}"))
}

/// The rows `--only` selects (every chapter and the convolution cases without it).
fn entries(options: &Options) -> Result<Vec<Entry>> {
    let wanted: Option<Vec<&str>> = options.only.as_deref().map(|o| o.split(',').collect());
    let crates: Option<Vec<&str>> = wanted
        .as_ref()
        .map(|w| w.iter().copied().filter(|&n| n != "conv").collect());
    let mut entries = Vec::new();
    if crates.as_ref().is_none_or(|c| !c.is_empty()) {
        for chapter in expect::chapters(crates.map(|c| c.join(",")).as_deref())? {
            for model in &chapter.expect.models {
                entries.push(Entry {
                    name: format!("{} {}", chapter.name, model.name),
                    burn: chapter_bench(&chapter.name, model),
                    twin: model.twin.clone(),
                    passes: model.bench_passes.unwrap_or(options.passes),
                });
            }
        }
    }
    if wanted.is_none_or(|w| w.contains(&"conv")) {
        for case in CONV_CASES {
            let mut burn = Command::new("target/release/examples/conv_bench");
            burn.args(["--model", case]);
            entries.push(Entry {
                name: format!("conv {case}"),
                burn,
                twin: Some(format!("pytorch_conv.py --model {case}")),
                passes: options.passes,
            });
        }
    }
    Ok(entries)
}

/// The Rust side of a chapter's model: the chapter binary's `bench` verb.
fn chapter_bench(chapter: &str, model: &ModelExpect) -> Command {
    let mut command = Command::new(expect::binary(chapter));
    command.args(model.command()).arg("bench");
    command
}

/// `command` at `threads` threads and `passes` passes: `--threads` goes before the chapter's
/// words (it is a flag of the binary), `--passes` after them.
fn with_threads(command: &Command, threads: usize, passes: usize) -> Command {
    let mut run = Command::new(command.get_program());
    run.args(["--threads", &threads.to_string()])
        .args(command.get_args())
        .args(["--passes", &passes.to_string()]);
    run
}

/// The PyTorch side: `bench/<script> <args> --threads T --passes N`.
fn twin_command(python: &Path, twin: &str, threads: usize, passes: usize) -> Command {
    let mut words = twin.split_whitespace();
    let script = Path::new("bench").join(words.next().unwrap_or_default());
    let mut command = Command::new(python);
    command.arg(script).args(words).args([
        "--threads",
        &threads.to_string(),
        "--passes",
        &passes.to_string(),
    ]);
    command
}

/// One row of the table.
struct Timing {
    name: String,
    threads: usize,
    burn: f64,
    torch: Option<f64>,
}

/// The convolution cases (`crates/dgm_core/examples/conv_bench.rs`, twin
/// `bench/pytorch_conv.py`): the stacks of Foster's image chapters. `--only conv` selects them.
const CONV_CASES: [&str; 6] = [
    "dcgan-critic-64",
    "dcgan-generator-64",
    "dcgan-critic-32",
    "dcgan-generator-32",
    "pixelcnn-block-28",
    "unet-block-32",
];

/// What one row of the table times: a name, the Rust command (without `--threads` and
/// `--passes`), its twin and its number of passes.
struct Entry {
    name: String,
    burn: Command,
    twin: Option<String>,
    passes: usize,
}

/// Runs every model's `bench` verb and the convolution cases (and, with `--vs-pytorch`, each
/// one's twin, alternating), prints the table and writes it to `runs/bench.md`.
pub fn bench(options: &Options) -> Result<bool> {
    run_inherited("cargo", &["build", "--release", "--workspace", "--bins"])?;
    run_inherited(
        "cargo",
        &["build", "--release", "-p", "dgm_core", "--examples"],
    )?;
    let mut timings = Vec::new();
    for entry in entries(options)? {
        let twin = options.python.as_deref().zip(entry.twin.as_deref());
        if options.python.is_some() && twin.is_none() {
            continue;
        }
        for &threads in &options.threads {
            let (mut burn, mut torch) = (f64::INFINITY, None::<f64>);
            for _ in 0..options.rounds {
                let command = with_threads(&entry.burn, threads, entry.passes);
                burn = burn.min(seconds_per_pass(command, &entry.name)?);
                if let Some((python, twin)) = twin {
                    let command = twin_command(python, twin, threads, entry.passes);
                    let t = seconds_per_pass(command, &format!("the twin of {}", entry.name))?;
                    torch = Some(torch.map_or(t, |best| best.min(t)));
                }
            }
            let ratio = torch.map_or(String::new(), |t| {
                format!(", burn / PyTorch {:.2}", burn / t)
            });
            println!("{} threads={threads}: {burn:.4} s/pass{ratio}", entry.name);
            timings.push(Timing {
                name: entry.name.clone(),
                threads,
                burn,
                torch,
            });
        }
    }
    let table = table(&timings, options)?;
    println!("\n{table}");
    std::fs::create_dir_all("runs")?;
    std::fs::write("runs/bench.md", &table)?;
    println!("wrote runs/bench.md");
    Ok(true)
}

/// The markdown table of `timings`: one row per model and thread count, then the geometric mean
/// of burn / PyTorch at each thread count, then each model's speed-up from 1 to 2 threads.
fn table(timings: &[Timing], options: &Options) -> Result<String> {
    let mut table = format!(
        "Seconds per training pass, the lesser median of {} alternating runs of {} passes each.\n\n\
         | model | threads | burn (s) | PyTorch (s) | burn / PyTorch |\n|---|---|---|---|---|\n",
        options.rounds, options.passes
    );
    for t in timings {
        let (torch, ratio) = match t.torch {
            Some(torch) => (format!("{torch:.4}"), format!("{:.2}", t.burn / torch)),
            None => ("-".to_string(), "-".to_string()),
        };
        writeln!(
            table,
            "| {} | {} | {:.4} | {torch} | {ratio} |",
            t.name, t.threads, t.burn
        )?;
    }
    for &threads in &options.threads {
        let ratios: Vec<f64> = timings
            .iter()
            .filter(|t| t.threads == threads)
            .filter_map(|t| t.torch.map(|torch| t.burn / torch))
            .collect();
        if !ratios.is_empty() {
            writeln!(
                table,
                "| geometric mean | {threads} | | | {:.3} |",
                geometric_mean(&ratios)
            )?;
        }
    }
    if options.threads.contains(&1) && options.threads.contains(&2) {
        table.push_str(
            "\nSpeed-up of a second thread (seconds at 1 thread / seconds at 2 threads):\n\n\
             | model | burn | PyTorch |\n|---|---|---|\n",
        );
        for one in timings.iter().filter(|t| t.threads == 1) {
            let Some(two) = timings
                .iter()
                .find(|t| t.threads == 2 && t.name == one.name)
            else {
                continue;
            };
            let torch = match (one.torch, two.torch) {
                (Some(a), Some(b)) => format!("{:.2}", a / b),
                _ => "-".to_string(),
            };
            writeln!(
                table,
                "| {} | {:.2} | {torch} |",
                one.name,
                one.burn / two.burn
            )?;
        }
    }
    Ok(table)
}

/// (x_1 x_2 ... x_n)^(1/n), computed as exp(mean(ln x_i)).
fn geometric_mean(values: &[f64]) -> f64 {
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_geometric_mean_of_ratios_is_the_ratio_of_their_products() {
        assert!((geometric_mean(&[0.5, 2.0]) - 1.0).abs() < 1e-12);
        assert!((geometric_mean(&[0.25, 1.0, 4.0]) - 1.0).abs() < 1e-12);
        assert!((geometric_mean(&[0.9]) - 0.9).abs() < 1e-12);
    }

    #[test]
    fn options_refuse_a_mistyped_flag_and_take_known_ones_with_their_values() {
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert!(Options::parse(&words("--help-me")).is_err());
        assert!(Options::parse(&words("--threads 1 --pases 2")).is_err());
        let options = Options::parse(&words("--only ch04_vae --threads 2 --passes 4")).unwrap();
        assert_eq!(options.only.as_deref(), Some("ch04_vae"));
        assert_eq!(options.threads, [2]);
        assert_eq!((options.passes, options.rounds), (4, 2));
    }

    #[test]
    fn a_twin_command_puts_the_script_under_bench_and_adds_threads_and_passes() {
        let command = twin_command(Path::new("py"), "pytorch_ch03_flows.py --model idf", 2, 5);
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "bench/pytorch_ch03_flows.py",
                "--model",
                "idf",
                "--threads",
                "2",
                "--passes",
                "5"
            ]
        );
    }
}
