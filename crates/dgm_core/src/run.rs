//! The output directory of one run: `runs/<chapter>/<model>/<mode>/`.
//!
//! Everything a run produces lands here, and a reload finds what it needs here: the resolved
//! config (`config.json`) that rebuilds the model and the best checkpoint (`checkpoint.bpk`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::BackendKind;
use crate::report::Report;
use crate::snapshot::{module_bytes, write_atomically};

/// The directory of one run.
#[derive(Clone, Debug)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    /// Creates the directory (and its parents) if needed.
    pub fn create(dir: impl Into<PathBuf>) -> Result<RunDir> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
        Ok(RunDir { dir })
    }

    /// Opens an existing run directory, explaining how to make one when it is missing.
    pub fn open(dir: impl Into<PathBuf>, train_command: &str) -> Result<RunDir> {
        let dir = dir.into();
        if !dir.join(CHECKPOINT).is_file() {
            bail!(
                "no checkpoint in {}: train the model first with `{train_command}`",
                dir.display()
            );
        }
        Ok(RunDir { dir })
    }

    /// A file inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The best model's parameters (burnpack format).
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join(CHECKPOINT)
    }

    /// Opens the directory of a run to resume, refusing one that was started with other
    /// settings than `config` (naming them) and saying how to start one when there is none.
    pub fn resume<C: Serialize>(
        dir: impl Into<PathBuf>,
        model: &str,
        config: &C,
        train_command: &str,
    ) -> Result<RunDir> {
        let run = RunDir { dir: dir.into() };
        if !run.path(CONFIG).is_file() {
            bail!(
                "there is no run to resume in {}: start it with `{train_command}`",
                run.dir.display()
            );
        }
        let saved: serde_json::Value = run.read_config(model)?;
        let asked = serde_json::to_value(config)?;
        let differing: Vec<String> = match (&saved, &asked) {
            (serde_json::Value::Object(saved), serde_json::Value::Object(asked)) => asked
                .iter()
                .filter(|(key, value)| saved.get(*key) != Some(value))
                .map(|(key, value)| {
                    let was = saved.get(key).map_or("nothing".into(), |v| v.to_string());
                    format!("{key} (the run has {was}, this command {value})")
                })
                .collect(),
            _ if saved != asked => vec!["the config".into()],
            _ => Vec::new(),
        };
        if !differing.is_empty() {
            bail!(
                "the run in {} was started with other settings: {}; resume it with the flags it \
                 was started with, or start a new run without --resume",
                run.dir.display(),
                differing.join(", ")
            );
        }
        Ok(run)
    }

    /// Writes the resolved config as `config.json`, tagged with the model's name.
    pub fn write_config<C: Serialize>(&self, model: &str, config: &C) -> Result<()> {
        let tagged = serde_json::json!({ "model": model, "config": config });
        let text = serde_json::to_string_pretty(&tagged)? + "\n";
        write_atomically(&self.path(CONFIG), text.as_bytes())
    }

    /// Reads `config.json`, refusing a run of another model.
    pub fn read_config<C: DeserializeOwned>(&self, model: &str) -> Result<C> {
        let path = self.path(CONFIG);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let tagged: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let found = tagged["model"].as_str().unwrap_or("<none>");
        if found != model {
            bail!(
                "{} holds a `{found}` run, not a `{model}` run",
                self.dir.display()
            );
        }
        serde_json::from_value(tagged["config"].clone()).with_context(|| {
            format!(
                "{} does not describe a `{model}` of this version",
                path.display()
            )
        })
    }

    /// Saves a module as the checkpoint, atomically: a kill while it is written leaves the
    /// previous checkpoint.
    pub fn save_checkpoint<M: Module + Clone>(&self, model: &M) -> Result<()> {
        write_atomically(&self.checkpoint(), &module_bytes(model)?)
    }

    /// Loads the checkpoint into `model` (built from the same config), or says why it cannot.
    pub fn load_checkpoint<M: Module>(&self, model: M) -> Result<M> {
        model.try_load_file(self.checkpoint()).map_err(|e| {
            anyhow::anyhow!(
                "the checkpoint {} does not fit this model: {e:?}",
                self.checkpoint().display()
            )
        })
    }
}

const CHECKPOINT: &str = "checkpoint.bpk";
const CONFIG: &str = "config.json";

/// What every run of every chapter knows about itself: names, mode, seed, device.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub chapter: &'static str,
    pub model: &'static str,
    /// The words after `--` that select the model (`idf`, `priors --prior mog`).
    pub command: String,
    /// "quick" or "full".
    pub mode: &'static str,
    pub seed: u64,
    /// The `--epochs` override of the preset's maximum, if any.
    pub epochs: Option<usize>,
    /// Whether to continue the run in `out_dir` (`--resume`) instead of starting it again.
    pub resume: bool,
    pub backend: BackendKind,
    /// The inference device; training uses `device.clone().autodiff()`.
    pub device: Device,
    /// The run's output directory (not yet created).
    pub out_dir: PathBuf,
    /// Whether `out_dir` was given with `--out` rather than the default.
    pub custom_out: bool,
    /// Where report.json goes.
    pub report_path: PathBuf,
}

impl RunContext {
    /// The command that trains this model with this run's settings (for "train first" and
    /// "resume with" messages).
    pub fn train_command(&self) -> String {
        let mut flags = String::new();
        if self.mode == "quick" {
            flags += " --quick";
        }
        if self.seed != 0 {
            flags += &format!(" --seed {}", self.seed);
        }
        if let Some(epochs) = self.epochs {
            flags += &format!(" --epochs {epochs}");
        }
        if self.backend != BackendKind::Flex {
            flags += &format!(" --backend {}", self.backend.name());
        }
        if self.custom_out {
            flags += &format!(" --out {}", self.out_dir.display());
        }
        format!(
            "cargo run --release -p {} -- {}{flags}",
            self.chapter, self.command
        )
    }

    /// Writes `report.json` (or the `--report` path) and the printed summary as `summary.txt` in
    /// the run directory.
    pub fn write_report(&self, report: &Report) -> Result<()> {
        report.write(&self.report_path)?;
        let summary = self.out_dir.join("summary.txt");
        std::fs::write(&summary, report.summary(&self.out_dir))
            .with_context(|| format!("cannot write {}", summary.display()))
    }
}
