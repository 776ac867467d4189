//! The steps every chapter's experiment shares around its model: a run from its config to its
//! report ([`Run`]), the model of the digits a chapter writes ([`DigitModel`]) and what it gets
//! for free from it (reloading and sampling a finished run, the timing of `bench`), the picture
//! of real data and the scores of samples.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend;
use crate::config::Preset;
use crate::data::{Batch, DIGITS_DIM, Digits, Split, to_digit_scale, to_host, write_npy};
use crate::images::{DIGITS_GRID, GridSpec, save_grid};
use crate::quality;
use crate::report::{BURN_VERSION, Report, SCHEMA_VERSION, TrainingSummary, git_revision};
use crate::run::{RunContext, RunDir};
use crate::train::{Fitted, Trainer, fit, median};

/// Images in a sample grid.
pub const GRID_IMAGES: usize = 64;
/// Samples every digit model draws for its sample-quality scores (the grid shows the first).
pub use crate::quality::SAMPLES;

/// The files every trained digit model writes, by role.
pub const DIGIT_ARTIFACTS: [(&str, &str); 7] = [
    ("samples", "samples.png"),
    ("real", "real.png"),
    ("curve", "curve.png"),
    ("curve_csv", "curve.csv"),
    ("config", "config.json"),
    ("checkpoint", "checkpoint.bpk"),
    ("summary", "summary.txt"),
];

/// One training run from its config to its report: the output directory, what the run was
/// started with, and the clock.
pub struct Run {
    pub dir: RunDir,
    ctx: RunContext,
    config: serde_json::Value,
    start: Instant,
}

impl Run {
    /// Creates the run's directory and writes its config, tagged with the model's name; with
    /// `--resume`, opens the directory of the run to continue instead (see [`RunDir::resume`]).
    pub fn start(ctx: &RunContext, config: &impl Serialize) -> Result<Run> {
        let start = Instant::now();
        let dir = if ctx.resume {
            RunDir::resume(&ctx.out_dir, ctx.model, config, &ctx.train_command())?
        } else {
            let dir = RunDir::create(&ctx.out_dir)?;
            dir.write_config(ctx.model, config)?;
            dir
        };
        Ok(Run {
            dir,
            ctx: ctx.clone(),
            config: serde_json::to_value(config)?,
            start,
        })
    }

    /// Trains `model` on `train` with the books' early stopping (see [`fit`]) on the trainer's
    /// schedule: `loss` is the loss of a batch (the images, or the images and their labels: see
    /// [`Trainer::epoch`]), `validate` the metric that picks the checkpoint.
    pub fn fit<M: Module + Clone, X: Batch>(
        &self,
        model: M,
        trainer: &mut Trainer,
        train: &Split,
        val_name: &'static str,
        loss: impl Fn(&M, X) -> Tensor<1>,
        validate: impl FnMut(&M) -> f64,
    ) -> Result<Fitted<M>> {
        self.fit_epochs(
            model,
            trainer,
            val_name,
            |trainer, model, epoch| trainer.epoch(model, train, epoch, &loss),
            validate,
        )
    }

    /// [`fit`] in this run's directory (resuming it with `--resume`) with a training pass of
    /// the model's own (`train_epoch(trainer, model, epoch)` returns the model and its mean
    /// training loss).
    pub fn fit_epochs<M: Module + Clone>(
        &self,
        model: M,
        trainer: &mut Trainer,
        val_name: &'static str,
        train_epoch: impl FnMut(&mut Trainer, M, usize) -> Result<(M, f64)>,
        validate: impl FnMut(&M) -> f64,
    ) -> Result<Fitted<M>> {
        let resume = self.ctx.resume;
        fit(
            model,
            trainer,
            val_name,
            &self.dir,
            resume,
            train_epoch,
            validate,
        )
    }

    /// Whether this run continues an earlier one (`--resume`).
    pub fn resumes(&self) -> bool {
        self.ctx.resume
    }

    /// Writes `samples.png`, a grid of the first 64 of the run's digit samples (n x 64 values on
    /// the 0..16 scale), and scores all of them: `sample_fd` and `sample_confidence` (see
    /// [`sample_quality_metrics`]).
    pub fn score_samples(&self, samples: &[f32]) -> Result<[(&'static str, f64); 2]> {
        save_grid(
            &self.dir.path("samples.png"),
            &samples[..GRID_IMAGES * DIGITS_DIM],
            DIGITS_GRID,
        )?;
        sample_quality_metrics(samples, &self.ctx.device)
    }

    /// Writes `report.json` and `summary.txt`: the fields every run shares, what `training`
    /// says, then `metrics` and the `artifacts` (role, file in the run directory). Returns the
    /// report.
    pub fn finish(
        &self,
        training: &TrainingSummary,
        parameters: usize,
        metrics: &[(&str, f64)],
        artifacts: &[(&str, &str)],
    ) -> Result<Report> {
        let ctx = &self.ctx;
        let report = Report {
            schema_version: SCHEMA_VERSION,
            chapter: ctx.chapter.into(),
            model: ctx.model.into(),
            mode: ctx.mode.into(),
            seed: ctx.seed,
            backend: ctx.backend.name().into(),
            threads: backend::threads(),
            burn_version: BURN_VERSION.into(),
            git_revision: git_revision(),
            wall_seconds: self.start.elapsed().as_secs_f64(),
            trainings: training.trainings,
            epochs_run: training.epochs_run,
            best_epoch: training.best_epoch,
            s_per_epoch: training.s_per_epoch,
            parameters,
            metrics: metrics.iter().map(|(k, v)| ((*k).into(), *v)).collect(),
            validation: training.validation.clone(),
            artifacts: artifacts
                .iter()
                .map(|(role, file)| ((*role).into(), (*file).into()))
                .collect(),
            config: self.config.clone(),
        };
        ctx.write_report(&report)?;
        Ok(report)
    }
}

// ANCHOR: digit_model
/// A model of the 8x8 digits trained on a loss: what a chapter writes. From it the model gets
/// its place on the command line and the verbs `sample` (reload a finished run and draw) and
/// `bench` (time training passes and a sample grid).
pub trait DigitModel {
    /// Every setting of the model and its training.
    type Config: Preset;
    /// The network: what the checkpoint holds.
    type Network: Module + Clone;
    /// What a training batch holds: the images `Tensor<2>`, or the images and their labels
    /// `(Tensor<2>, Tensor<1, Int>)`.
    type Batch: Batch;

    /// The model's name in paths and reports (`causal-conv`, `priors-mog`).
    fn name(&self) -> &'static str;
    /// The words after `--` that select it, when they are not its name (`priors --prior mog`).
    fn words(&self) -> String {
        self.name().into()
    }
    /// The settings of a run: the config's quick or full preset, unless the model differs.
    fn config(&self, quick: bool) -> Self::Config {
        Self::Config::preset(quick)
    }
    /// A freshly initialised network.
    fn build(&self, config: &Self::Config, device: &Device) -> Self::Network;
    /// The optimiser and the schedule the network is trained with.
    fn trainer(&self, config: &Self::Config, ctx: &RunContext) -> Trainer;
    /// The scalar loss of a training batch: images x [batch, 64] (values 0..16), with their
    /// labels y [batch] for a model of images and labels.
    fn loss(&self, config: &Self::Config, network: &Self::Network, batch: Self::Batch)
    -> Tensor<1>;
    /// n images drawn from the network, on the digits' 0..16 scale: [n, 64].
    fn generate(
        &self,
        config: &Self::Config,
        network: &Self::Network,
        n: usize,
        device: &Device,
    ) -> Tensor<2>;
    /// The protocol: trains on `digits`, evaluates, samples and writes the run's outputs.
    fn train(&self, config: &Self::Config, digits: &Digits, ctx: &RunContext) -> Result<Report>;
}
// ANCHOR_END: digit_model

// ANCHOR: fit_digits
/// The opening every digit model's protocol shares: starts the run (its directory and config),
/// writes `real.png`, builds the network and its trainer and trains it on `digits.train` with
/// early stopping on `validate` (named `val_name`).
pub fn fit_digits<M: DigitModel>(
    model: &M,
    config: &M::Config,
    digits: &Digits,
    ctx: &RunContext,
    val_name: &'static str,
    validate: impl FnMut(&M::Network) -> f64,
) -> Result<(Run, Fitted<M::Network>)> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = model.trainer(config, ctx);
    let network = model.build(config, trainer.device());
    let loss = |network: &M::Network, batch| model.loss(config, network, batch);
    let fitted = run.fit(
        network,
        &mut trainer,
        &digits.train,
        val_name,
        loss,
        validate,
    )?;
    Ok((run, fitted))
}
// ANCHOR_END: fit_digits

// ANCHOR: finish_digits
/// The closing every digit model's protocol shares: draws [`SAMPLES`] images from the best
/// network of `fitted` (ready for evaluation), scores them (writing `samples.png`) and writes
/// the report: the training of `fitted`, `metrics` and the two sample scores, and `artifacts`.
pub fn finish_digits<M: DigitModel>(
    model: &M,
    config: &M::Config,
    run: &Run,
    fitted: &Fitted<M::Network>,
    metrics: &[(&str, f64)],
    artifacts: &[(&str, &str)],
) -> Result<Report> {
    let best = fitted.best_model.valid();
    let [fd, confidence] = score_digit_model(model, config, run, &best)?;
    let metrics = [metrics, &[fd, confidence]].concat();
    run.finish(&fitted.summary(), best.num_params(), &metrics, artifacts)
}
// ANCHOR_END: finish_digits

/// Draws [`SAMPLES`] images from `network` (ready for evaluation), writes the grid of the
/// first 64 (`samples.png`) and scores them all: `sample_fd` and `sample_confidence`.
pub fn score_digit_model<M: DigitModel>(
    model: &M,
    config: &M::Config,
    run: &Run,
    network: &M::Network,
) -> Result<[(&'static str, f64); 2]> {
    let samples = to_host(model.generate(config, network, SAMPLES, &run.ctx.device));
    run.score_samples(&samples)
}

/// The `sample` verb of a digit model: reloads the best checkpoint of a finished run, draws
/// `request.n` images and writes their grid (and, when asked, the `.npy` file). Returns the
/// files written.
pub fn sample_digit_model<M: DigitModel>(
    model: &M,
    ctx: &RunContext,
    request: &DigitSamples,
) -> Result<Vec<PathBuf>> {
    let n = request.count()?;
    let (run, config, network) = reload(ctx, |config, device| model.build(config, device))?;
    let samples = to_host(model.generate(&config, &network, n, &ctx.device));
    request.write(&run, ctx, &samples)
}

/// The `bench` verb of a digit model: times `passes` training passes (no validation) and one
/// sample grid.
pub fn bench_digit_model<M: DigitModel>(
    model: &M,
    config: &M::Config,
    ctx: &RunContext,
    passes: usize,
) -> Result<Bench> {
    let digits = Digits::load()?;
    let mut trainer = model.trainer(config, ctx);
    let network = model.build(config, trainer.device());
    measure(
        ctx,
        network,
        &mut trainer,
        &digits.train,
        passes,
        |network, batch| model.loss(config, network, batch),
        |network| {
            to_host(model.generate(config, &network.valid(), GRID_IMAGES, &ctx.device));
        },
    )
}

/// What the `sample` verb of an image model is asked for.
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct DigitSamples {
    /// How many images.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Where to write the grid (default: samples-seed<seed>.png in the run directory).
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// Also write the raw samples (n x dim, float32) as a .npy file.
    #[arg(long)]
    pub samples_out: Option<PathBuf>,
}

/// `--n`, refusing none.
fn sample_count(n: usize) -> Result<usize> {
    anyhow::ensure!(n > 0, "--n must be at least 1");
    Ok(n)
}

impl DigitSamples {
    /// How many images are asked for, refusing none.
    pub fn count(&self) -> Result<usize> {
        sample_count(self.n)
    }

    /// Writes digit samples drawn from a reloaded run's model (n x 64 values on the 0..16
    /// scale): the grid at `--grid` (default `samples-seed<seed>.png` in the run directory) and,
    /// when asked, the raw values as an `n x 64` float32 `.npy` file. Returns the files written.
    pub fn write(&self, run: &RunDir, ctx: &RunContext, samples: &[f32]) -> Result<Vec<PathBuf>> {
        let grid = self
            .grid
            .clone()
            .unwrap_or_else(|| run.path(&format!("samples-seed{}.png", ctx.seed)));
        save_grid(&grid, samples, DIGITS_GRID)?;
        let mut written = vec![grid];
        if let Some(path) = &self.samples_out {
            write_npy(path, samples, &[samples.len() / DIGITS_DIM, DIGITS_DIM])?;
            written.push(path.clone());
        }
        Ok(written)
    }
}

/// What the `sample` verb of a text model is asked for.
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct TextSamples {
    /// How many texts.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Where to write them (default: a file named after the seed in the run directory).
    #[arg(long)]
    pub text: Option<PathBuf>,
}

impl TextSamples {
    /// How many texts are asked for, refusing none.
    pub fn count(&self) -> Result<usize> {
        sample_count(self.n)
    }
}

/// The directory, config and best model of a finished run of this context's model, or a message
/// saying how to train one. `build` makes the model the checkpoint is loaded into.
pub fn reload<C: DeserializeOwned, M: Module>(
    ctx: &RunContext,
    build: impl FnOnce(&C, &Device) -> M,
) -> Result<(RunDir, C, M)> {
    let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
    let config: C = run.read_config(ctx.model)?;
    let model = run.load_checkpoint(build(&config, &ctx.device))?;
    Ok((run, config, model))
}

// ANCHOR: sample_quality
/// `sample_fd` and `sample_confidence` of digit samples (n x 64 values on the 0..16 scale)
/// against the whole test split, through the fixed classifier of [`crate::quality`] (trained on
/// the whole training split: the scores do not depend on the data a run was given).
pub fn sample_quality_metrics(
    samples: &[f32],
    device: &Device,
) -> Result<[(&'static str, f64); 2]> {
    let digits = Digits::load()?;
    let trained = quality::FixedClassifier::load_or_train(&digits, device)?;
    let n = samples.len() / DIGITS_DIM;
    let samples = Tensor::from_data(TensorData::new(samples.to_vec(), [n, DIGITS_DIM]), device);
    let scores = quality::sample_quality(&trained.classifier, samples, &digits.test, device);
    Ok([
        ("sample_fd", scores.fd),
        ("sample_confidence", scores.confidence),
    ])
}
// ANCHOR_END: sample_quality

/// A picture of sampling chains on the [-1, 1] scale: one chain per row, `shown` of its states
/// (evenly spaced, the first and the last included) from noise (left) to digit (right).
///
/// # Shapes
/// - states: the chains' states in order, each [chains, D]
pub fn save_chains(path: &Path, states: &[Tensor<2>], shown: usize) -> Result<()> {
    let shown = shown.clamp(2, states.len().max(2));
    let last = states.len() - 1;
    let picked: Vec<Vec<f32>> = (0..shown)
        .map(|k| to_host(to_digit_scale(states[k * last / (shown - 1)].clone())))
        .collect();
    let [chains, dim] = states[0].dims();
    let mut images = Vec::with_capacity(chains * shown * dim);
    for chain in 0..chains {
        for state in &picked {
            images.extend_from_slice(&state[chain * dim..(chain + 1) * dim]);
        }
    }
    save_grid(
        path,
        &images,
        GridSpec {
            columns: shown,
            ..DIGITS_GRID
        },
    )
}

/// Writes `real.png`: the first test digits, to set beside the samples.
pub fn save_real_digits(run: &RunDir, test: &Split, device: &Device) -> Result<()> {
    let first: Vec<usize> = (0..GRID_IMAGES.min(test.len())).collect();
    save_grid(
        &run.path("real.png"),
        &to_host(test.rows(&first, device)),
        DIGITS_GRID,
    )
}

/// Speed of one configuration: seconds per training pass and per sample grid.
#[derive(Debug, Serialize)]
pub struct Bench {
    pub model: &'static str,
    pub threads: usize,
    pub backend: &'static str,
    /// Median seconds of a training pass over the training set.
    pub s_per_epoch: f64,
    /// Seconds to draw a grid of samples.
    pub sample_seconds: f64,
}

/// Times `passes` training passes of `model` over `train` after one untimed warm-up pass (the
/// first touches every allocation for the first time), then one call of `sample` with the
/// trained model, and reports both for this run's model, threads and backend.
pub fn measure<M: Module, X: Batch>(
    ctx: &RunContext,
    model: M,
    trainer: &mut Trainer,
    train: &Split,
    passes: usize,
    loss: impl Fn(&M, X) -> Tensor<1>,
    sample: impl FnOnce(M),
) -> Result<Bench> {
    time_passes(
        ctx,
        passes,
        model,
        |model, pass| Ok(trainer.epoch(model, train, pass, &loss)?.0),
        sample,
    )
}

/// Times `passes` calls of `pass(state, pass_index)` after one untimed warm-up call, then one
/// call of `sample(state)`: the timing loop of [`measure`] for models with their own training
/// step (two optimisers, labels).
pub fn time_passes<S>(
    ctx: &RunContext,
    passes: usize,
    mut state: S,
    mut pass: impl FnMut(S, usize) -> Result<S>,
    sample: impl FnOnce(S),
) -> Result<Bench> {
    let mut seconds = Vec::new();
    for index in 0..=passes {
        let start = Instant::now();
        state = pass(state, index)?;
        if index > 0 {
            seconds.push(start.elapsed().as_secs_f64());
        }
    }
    let start = Instant::now();
    sample(state);
    Ok(Bench {
        model: ctx.model,
        threads: crate::backend::threads(),
        backend: ctx.backend.name(),
        s_per_epoch: median(seconds),
        sample_seconds: start.elapsed().as_secs_f64(),
    })
}
