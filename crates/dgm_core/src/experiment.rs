//! The steps every chapter's experiment shares around its model: the batch loop's state
//! ([`Trainer`]), a run from its config to its report ([`Run`]), reloading a finished run, the
//! picture of real data, the files of a reload, and the timing of `bench`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::data::{DIGITS_DIM, Digits, Split, to_digit_scale, to_host, write_npy};
use crate::images::{DIGITS_GRID, GridSpec, save_grid};
use crate::optim::AdamaxConfig;
use crate::quality;
use crate::report::Report;
use crate::run::{RunContext, RunDir};
use crate::train::{FitSettings, Fitted, fit, median, train_epoch};
use crate::transformer::{DecoderTransformer, Sequences, sequence_nll};

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

// ANCHOR: trainer
/// What the batch loop keeps from one epoch to the next: the optimiser and its state, the
/// generator that shuffles the training set, and the settings of a step.
pub struct Trainer {
    optimizer: ModuleOptimizer,
    rng: StdRng,
    learning_rate: f64,
    batch_size: usize,
    device: Device,
}

impl Trainer {
    /// A trainer on the run's autodiff device, shuffling with a generator seeded by `--seed`.
    pub fn new(
        optimizer: ModuleOptimizer,
        learning_rate: f64,
        batch_size: usize,
        ctx: &RunContext,
    ) -> Trainer {
        Trainer {
            optimizer,
            rng: StdRng::seed_from_u64(ctx.seed),
            learning_rate,
            batch_size,
            device: ctx.device.clone().autodiff(),
        }
    }

    /// The device models are trained on (gradients are recorded here).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// One pass over the shuffled rows of `train`, one optimiser step per batch on
    /// `loss(&model, x)`. Returns the model and the mean training loss.
    pub fn epoch<M: Module>(
        &mut self,
        model: M,
        train: &Split,
        epoch: usize,
        loss: impl Fn(&M, Tensor<2>) -> Tensor<1>,
    ) -> Result<(M, f64)> {
        let batches = train
            .shuffled_batches(self.batch_size, &mut self.rng)
            .into_iter()
            .map(|indices| train.rows(&indices, &self.device));
        let learning_rate = self.learning_rate;
        train_epoch(
            model,
            &mut self.optimizer,
            learning_rate,
            batches,
            epoch,
            loss,
        )
    }
}
// ANCHOR_END: trainer

impl Trainer {
    /// A trainer with Adamax at its defaults, the optimiser of most of Tomczak's examples.
    pub fn adamax(learning_rate: f64, batch_size: usize, ctx: &RunContext) -> Trainer {
        Trainer::new(AdamaxConfig::new().init(), learning_rate, batch_size, ctx)
    }

    /// [`Trainer::epoch`] for models trained on images and their labels:
    /// `loss(&model, (x, y))` with y the labels as integers [batch].
    pub fn labelled_epoch<M: Module>(
        &mut self,
        model: M,
        train: &Split,
        epoch: usize,
        loss: impl Fn(&M, (Tensor<2>, Tensor<1, Int>)) -> Tensor<1>,
    ) -> Result<(M, f64)> {
        let device = self.device.clone();
        let batches = train
            .shuffled_batches(self.batch_size, &mut self.rng)
            .into_iter()
            .map(|indices| {
                (
                    train.rows(&indices, &device),
                    train.labels_of(&indices, &device),
                )
            });
        let learning_rate = self.learning_rate;
        train_epoch(
            model,
            &mut self.optimizer,
            learning_rate,
            batches,
            epoch,
            loss,
        )
    }
}

// ANCHOR: sequence_epoch
impl Trainer {
    /// One pass of teacher forcing over token sequences: the loss of a batch is the mean over
    /// its sequences of -log p(sequence) (see [`sequence_nll`]). With `max_batches`, the pass
    /// stops after that many batches of a fresh random order: an "epoch" of a corpus too large
    /// to read whole between two validations.
    pub fn sequence_epoch(
        &mut self,
        model: DecoderTransformer,
        train: &Sequences,
        epoch: usize,
        max_batches: Option<usize>,
    ) -> Result<(DecoderTransformer, f64)> {
        let device = self.device.clone();
        let mut order = crate::data::shuffled_batches(train.len(), self.batch_size, &mut self.rng);
        order.truncate(max_batches.unwrap_or(order.len()));
        let batches = order
            .into_iter()
            .map(|indices| train.batch(&indices, &device));
        let learning_rate = self.learning_rate;
        train_epoch(
            model,
            &mut self.optimizer,
            learning_rate,
            batches,
            epoch,
            |model, batch| sequence_nll(model.forward(batch.inputs.clone()), &batch).mean(),
        )
    }
}
// ANCHOR_END: sequence_epoch

/// One training run from its config to its report: the output directory and the clock.
pub struct Run {
    pub dir: RunDir,
    start: Instant,
}

impl Run {
    /// Creates the run's directory and writes its config, tagged with the model's name.
    pub fn start(ctx: &RunContext, config: &impl Serialize) -> Result<Run> {
        let start = Instant::now();
        let dir = RunDir::create(&ctx.out_dir)?;
        dir.write_config(ctx.model, config)?;
        Ok(Run { dir, start })
    }

    /// Trains `model` on `train` with the books' early stopping (see [`fit`]): `loss` is the
    /// batch loss, `validate` the metric that picks the checkpoint.
    pub fn fit<M: Module + Clone>(
        &self,
        model: M,
        trainer: &mut Trainer,
        train: &Split,
        settings: &FitSettings,
        loss: impl Fn(&M, Tensor<2>) -> Tensor<1>,
        validate: impl FnMut(&M) -> f64,
    ) -> Result<Fitted<M>> {
        fit(
            model,
            settings,
            &self.dir,
            |model, epoch| trainer.epoch(model, train, epoch, &loss),
            validate,
        )
    }

    /// [`Run::fit`] for models trained on images and their labels (see
    /// [`Trainer::labelled_epoch`]).
    pub fn fit_labelled<M: Module + Clone>(
        &self,
        model: M,
        trainer: &mut Trainer,
        train: &Split,
        settings: &FitSettings,
        loss: impl Fn(&M, (Tensor<2>, Tensor<1, Int>)) -> Tensor<1>,
        validate: impl FnMut(&M) -> f64,
    ) -> Result<Fitted<M>> {
        fit(
            model,
            settings,
            &self.dir,
            |model, epoch| trainer.labelled_epoch(model, train, epoch, &loss),
            validate,
        )
    }

    /// Writes `report.json` and `summary.txt`: the fields every run shares, then `metrics` and
    /// the `artifacts` (role, file in the run directory). Returns the report.
    pub fn finish<M>(
        &self,
        ctx: &RunContext,
        fitted: &Fitted<M>,
        parameters: usize,
        config: &impl Serialize,
        metrics: &[(&str, f64)],
        artifacts: &[(&str, &str)],
    ) -> Result<Report> {
        let wall = self.start.elapsed().as_secs_f64();
        let mut report = ctx.report(fitted, parameters, wall, config)?;
        for (key, value) in metrics {
            report.metrics.insert((*key).into(), *value);
        }
        for (role, file) in artifacts {
            report.artifacts.insert((*role).into(), (*file).into());
        }
        ctx.write_report(&report)?;
        Ok(report)
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
    let trained = quality::Trained::load_or_train(&digits, device)?;
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

/// Writes `samples.png`, a grid of the first 64 of a run's digit samples, and scores all of
/// them: `sample_fd` and `sample_confidence` (see [`sample_quality_metrics`]).
pub fn save_and_score_samples(
    run: &RunDir,
    samples: &[f32],
    device: &Device,
) -> Result<[(&'static str, f64); 2]> {
    save_grid(
        &run.path("samples.png"),
        &samples[..GRID_IMAGES * DIGITS_DIM],
        DIGITS_GRID,
    )?;
    sample_quality_metrics(samples, device)
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

/// Writes digit samples drawn from a reloaded model: a grid at `grid` (default
/// `samples-seed<seed>.png` in the run directory) and, when asked, the raw values as an
/// `n x dim` float32 `.npy` file. Returns the grid's path.
pub fn write_digit_samples(
    run: &RunDir,
    ctx: &RunContext,
    samples: &[f32],
    dim: usize,
    grid: Option<PathBuf>,
    samples_out: Option<&Path>,
) -> Result<PathBuf> {
    let grid = grid.unwrap_or_else(|| run.path(&format!("samples-seed{}.png", ctx.seed)));
    save_grid(&grid, samples, DIGITS_GRID)?;
    if let Some(path) = samples_out {
        write_npy(path, samples, &[samples.len() / dim, dim])?;
    }
    Ok(grid)
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
pub fn measure<M: Module>(
    ctx: &RunContext,
    model: M,
    trainer: &mut Trainer,
    train: &Split,
    passes: usize,
    loss: impl Fn(&M, Tensor<2>) -> Tensor<1>,
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
