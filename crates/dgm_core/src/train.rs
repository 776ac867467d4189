//! The pieces of the books' training protocol.
//!
//! Every Tomczak example trains the same way: one pass over the shuffled training set per epoch
//! (one optimiser step per batch), then a validation pass; the model is saved at epoch 0 and
//! whenever validation strictly improves; training stops after `patience + 1` consecutive epochs
//! without improvement; the test number is computed with the best model. [`fit`] is that loop,
//! [`train_epoch`] the batch loop inside it (loss, backward, step), and [`Trainer`] what the batch
//! loop keeps from one epoch to the next. A chapter supplies the loss and the validation metric.
//!
//! After every epoch [`fit`] saves a [`Snapshot`] of everything the loop keeps (the model, the
//! best model, the optimiser's state, the early stopping and the curve), and every epoch draws
//! from a random stream of its own ([`Trainer::begin`]): a run stopped by Ctrl-C or a kill and
//! started again with `--resume` ends exactly as the run left alone.

use std::time::Instant;

use std::fmt::Write as _;

use anyhow::Result;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::backend::{Stage, seed_stage};
use crate::config::Schedule;
use crate::data::{Batch, Split, shuffled_batches};
use crate::interrupt;
use crate::metrics::ensure_finite;
use crate::optim::AdamaxConfig;
use crate::plot::line_plot;
use crate::report::{TrainingSummary, Validation};
use crate::run::{RunContext, RunDir};
use crate::snapshot::{Snapshot, load_module, module_bytes};

/// What one validation result means for early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Best so far: save the model.
    Improved,
    /// Not better, but patience is left.
    Waiting,
    /// `patience + 1` epochs in a row without improvement: stop.
    Stop,
}

// ANCHOR: early_stopping
/// Early stopping on a validation metric where lower is better.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EarlyStopping {
    patience: usize,
    best: Option<(usize, f64)>,
    waited: usize,
}

impl EarlyStopping {
    /// Stops after `patience + 1` consecutive non-improving epochs (the books' `max_patience`).
    pub fn new(patience: usize) -> EarlyStopping {
        EarlyStopping {
            patience,
            best: None,
            waited: 0,
        }
    }

    /// Records the validation value of `epoch`.
    pub fn observe(&mut self, epoch: usize, value: f64) -> Verdict {
        let improved = match self.best {
            None => true,
            Some((_, best)) => value < best,
        };
        if improved {
            self.best = Some((epoch, value));
            self.waited = 0;
            Verdict::Improved
        } else {
            self.waited += 1;
            if self.waited > self.patience {
                Verdict::Stop
            } else {
                Verdict::Waiting
            }
        }
    }

    /// The best epoch and its value.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}
// ANCHOR_END: early_stopping

// ANCHOR: train_epoch
/// One pass over the training batches: for each, the loss, its gradient, one optimiser step.
///
/// `loss(&model, batch)` returns the batch's scalar loss (for the likelihood models, the batch
/// mean of -log p(x); a batch is the images x, or the images and their labels). Returns the model and the mean training loss of the epoch.
/// After Ctrl-C it stops after the current batch with [`interrupt::Interrupted`].
pub fn train_epoch<M: Module, B>(
    mut model: M,
    optimizer: &mut ModuleOptimizer,
    learning_rate: f64,
    batches: impl IntoIterator<Item = B>,
    epoch: usize,
    loss: impl Fn(&M, B) -> Tensor<1>,
) -> Result<(M, f64)> {
    let mut loss_sum = 0.0;
    let mut count = 0;
    for (b, x) in batches.into_iter().enumerate() {
        let loss = loss(&model, x);
        let loss_value = loss.clone().into_scalar::<f32>() as f64;
        ensure_finite(loss_value, epoch, b)?;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(learning_rate, model, grads);
        loss_sum += loss_value;
        count += 1;
        interrupt::check(epoch)?;
    }
    Ok((model, loss_sum / count as f64))
}
// ANCHOR_END: train_epoch

// ANCHOR: trainer
/// What the batch loop keeps from one epoch to the next: the optimiser and its state, the
/// generator that shuffles the training set, and the schedule (batch size, learning rate).
pub struct Trainer {
    optimizer: ModuleOptimizer,
    rng: StdRng,
    seed: u64,
    schedule: Schedule,
    device: Device,
}

impl Trainer {
    /// A trainer on the run's autodiff device, its random streams seeded by `--seed`.
    pub fn new(optimizer: ModuleOptimizer, schedule: &Schedule, ctx: &RunContext) -> Trainer {
        Trainer::on(ctx.device.clone().autodiff(), ctx.seed, optimizer, schedule)
    }

    /// A trainer on `device` (an autodiff device), its random streams seeded by `seed`.
    pub fn on(
        device: Device,
        seed: u64,
        optimizer: ModuleOptimizer,
        schedule: &Schedule,
    ) -> Trainer {
        Trainer {
            optimizer,
            rng: StdRng::seed_from_u64(seed),
            seed,
            schedule: *schedule,
            device,
        }
    }

    /// Starts `stage` of the run: the device's random tensors and the data order draw from the
    /// stage's own seed (see [`stage_seed`](crate::backend::stage_seed)), so that a resumed run
    /// draws what the run left alone drew.
    pub fn begin(&mut self, stage: Stage) {
        self.rng = seed_stage(&self.device, self.seed, stage);
    }

    /// The snapshot with the optimiser's state added.
    pub fn save(&self, snapshot: Snapshot) -> Result<Snapshot> {
        snapshot.with_optimizer("optimizer", &self.optimizer)
    }

    /// Takes the optimiser's state back from a snapshot.
    pub fn restore(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.optimizer = snapshot.optimizer("optimizer", self.optimizer.clone())?;
        Ok(())
    }

    /// The device models are trained on (gradients are recorded here).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The schedule the trainer steps by.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// One pass over the shuffled rows of `train`, one optimiser step per batch on
    /// `loss(&model, batch)`, where a batch is the images x [batch, dim] or the images and
    /// their labels (x, y) (see [`Batch`]). Returns the model and the mean training loss.
    pub fn epoch<M: Module, X: Batch>(
        &mut self,
        model: M,
        train: &Split,
        epoch: usize,
        loss: impl Fn(&M, X) -> Tensor<1>,
    ) -> Result<(M, f64)> {
        self.pass(
            model,
            train.len(),
            None,
            epoch,
            |rows, device| X::gather(train, rows, device),
            loss,
        )
    }
}
// ANCHOR_END: trainer

impl Trainer {
    /// A trainer with Adamax at its defaults, the optimiser of most of Tomczak's examples.
    pub fn adamax(schedule: &Schedule, ctx: &RunContext) -> Trainer {
        Trainer::new(AdamaxConfig::new().init(), schedule, ctx)
    }

    /// One pass over `examples` examples in a fresh random order, in batches of the schedule's
    /// size: `batch(rows, device)` gathers the examples of a batch, `loss` is its scalar loss.
    /// With `max_batches`, the pass stops after that many batches: an "epoch" of a corpus too
    /// large to read whole between two validations.
    pub fn pass<M: Module, B>(
        &mut self,
        model: M,
        examples: usize,
        max_batches: Option<usize>,
        epoch: usize,
        batch: impl Fn(&[usize], &Device) -> B,
        loss: impl Fn(&M, B) -> Tensor<1>,
    ) -> Result<(M, f64)> {
        let mut order = shuffled_batches(examples, self.schedule.batch_size, &mut self.rng);
        order.truncate(max_batches.unwrap_or(order.len()));
        let device = self.device.clone();
        let batches = order.iter().map(|rows| batch(rows, &device));
        let learning_rate = self.schedule.learning_rate;
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

/// One row of a learning curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// The validation metric after the epoch.
    pub val_metric: f64,
    /// Seconds of the training pass alone.
    pub train_seconds: f64,
}

/// The outcome of [`fit`].
#[derive(Debug)]
pub struct Fitted<M> {
    /// The model of the best validation epoch.
    pub best_model: M,
    pub best_epoch: usize,
    pub best_val: f64,
    /// Name of the validation metric.
    pub val_name: &'static str,
    pub curve: Vec<CurvePoint>,
}

impl<M> Fitted<M> {
    /// Epochs run (including the non-improving ones before the stop).
    pub fn epochs_run(&self) -> usize {
        self.curve.len()
    }

    /// Median seconds of one training pass.
    pub fn s_per_epoch(&self) -> f64 {
        median(self.curve.iter().map(|p| p.train_seconds).collect())
    }

    /// The validation metric after the first epoch.
    pub fn first_val(&self) -> f64 {
        self.curve.first().map_or(f64::NAN, |p| p.val_metric)
    }

    /// What the report says of the training.
    pub fn summary(&self) -> TrainingSummary {
        TrainingSummary {
            trainings: 1,
            epochs_run: self.epochs_run(),
            best_epoch: self.best_epoch,
            s_per_epoch: self.s_per_epoch(),
            validation: Validation {
                metric: self.val_name.into(),
                first: self.first_val(),
                best: self.best_val,
            },
        }
    }
}

/// The median of some values (NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        0.5 * (values[mid - 1] + values[mid])
    }
}

/// The state of [`fit`] between two epochs, besides the models and the optimiser.
#[derive(Serialize, Deserialize)]
struct FitProgress {
    stopping: EarlyStopping,
    curve: Vec<CurvePoint>,
}

/// The file a run resumes from.
pub const SNAPSHOT: &str = "snapshot.bin";

/// Trains with early stopping on validation, keeping the best model: at most
/// `schedule.max_epochs` epochs of the trainer's schedule, stopping after `schedule.patience + 1`
/// without improvement.
///
/// - `train_epoch(trainer, model, epoch)` runs one pass over the training set and returns the
///   model and the mean training loss;
/// - `validate(&model)` returns the validation metric (lower is better).
///
/// After every epoch the curve is written (`curve.csv`, `curve.png`) and the loop's state is
/// saved in `snapshot.bin`; on every improvement the model is saved as the checkpoint, so an
/// interrupted run keeps its best model. With `resume`, the loop starts from the snapshot in
/// `run` (when there is one) instead of from epoch 0. Either way the trainer ends in
/// [`Stage::Evaluation`].
pub fn fit<M, T, V>(
    mut model: M,
    trainer: &mut Trainer,
    val_name: &'static str,
    run: &RunDir,
    resume: bool,
    mut train_epoch: T,
    mut validate: V,
) -> Result<Fitted<M>>
where
    M: Module + Clone,
    T: FnMut(&mut Trainer, M, usize) -> Result<(M, f64)>,
    V: FnMut(&M) -> f64,
{
    let schedule = *trainer.schedule();
    let snapshot_path = run.path(SNAPSHOT);
    let mut stopping = EarlyStopping::new(schedule.patience);
    // The best epoch's parameters and buffers as bytes, not as a clone of the model: a clone
    // shares its BatchNorm running statistics with the model (burn keeps them behind a shared
    // pointer), so the statistics of a cloned "best" model would go on changing with every
    // later training step.
    let mut best_bytes = None;
    let mut curve = Vec::new();
    let mut first_epoch = 0;
    let mut finished = false;
    if resume && let Some(snapshot) = Snapshot::load_if_saved(&snapshot_path)? {
        model = snapshot.module("model", model)?;
        best_bytes = Some(snapshot.part("best")?.to_vec());
        trainer.restore(&snapshot)?;
        let progress: FitProgress = snapshot.progress()?;
        (stopping, curve) = (progress.stopping, progress.curve);
        first_epoch = snapshot.epochs_done();
        finished = snapshot.finished();
        eprintln!("resuming after epoch {}", first_epoch - 1);
    }

    let bar = ProgressBar::new(schedule.max_epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {elapsed} | {msg}")
            .expect("valid template"),
    );
    bar.set_position(first_epoch as u64);
    let epochs = if finished {
        0..0
    } else {
        first_epoch..schedule.max_epochs
    };
    for epoch in epochs {
        trainer.begin(Stage::Epoch(epoch));
        let start = Instant::now();
        let (trained, train_loss) = train_epoch(trainer, model, epoch)?;
        model = trained;
        let train_seconds = start.elapsed().as_secs_f64();
        let val_metric = validate(&model);
        curve.push(CurvePoint {
            epoch,
            train_loss,
            val_metric,
            train_seconds,
        });

        let verdict = stopping.observe(epoch, val_metric);
        if verdict == Verdict::Improved {
            run.save_checkpoint(&model)?;
            best_bytes = Some(module_bytes(&model)?);
        }
        save_curve(run, &curve, val_name)?;
        let finished = verdict == Verdict::Stop || epoch + 1 == schedule.max_epochs;
        let progress = FitProgress {
            stopping: stopping.clone(),
            curve: curve.clone(),
        };
        let snapshot = Snapshot::new(epoch + 1, finished, &progress)?
            .with_module("model", &model)?
            .with_part(
                "best",
                best_bytes
                    .clone()
                    .expect("the first epoch is the best so far"),
            );
        trainer.save(snapshot)?.save(&snapshot_path)?;

        let (best_epoch, best_val) = stopping.best().expect("one epoch observed");
        let line = format!(
            "epoch {epoch} | train loss {train_loss:.3} | {val_name} {val_metric:.3} | best {best_val:.3} (epoch {best_epoch}) | {train_seconds:.2} s/epoch"
        );
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.set_message(line);
        }
        bar.inc(1);
        if verdict == Verdict::Stop {
            break;
        }
    }
    bar.finish_and_clear();
    trainer.begin(Stage::Evaluation);

    let (best_epoch, best_val) = stopping.best().unwrap_or((0, f64::NAN));
    // The last model's structure with the best epoch's values loaded into it.
    let best_model = match best_bytes {
        Some(bytes) => load_module(&bytes, model)?,
        None => model,
    };
    Ok(Fitted {
        best_model,
        best_epoch,
        best_val,
        val_name,
        curve,
    })
}

/// Writes `curve.csv` and `curve.png`: training loss and validation metric per epoch.
fn save_curve(run: &RunDir, curve: &[CurvePoint], val_name: &str) -> Result<()> {
    let mut csv = format!("epoch,train_loss,{val_name},train_seconds\n");
    for p in curve {
        writeln!(
            csv,
            "{},{},{},{}",
            p.epoch, p.train_loss, p.val_metric, p.train_seconds
        )?;
    }
    std::fs::write(run.path("curve.csv"), csv)?;

    let train: Vec<(f64, f64)> = curve
        .iter()
        .map(|p| (p.epoch as f64, p.train_loss))
        .collect();
    let val: Vec<(f64, f64)> = curve
        .iter()
        .map(|p| (p.epoch as f64, p.val_metric))
        .collect();
    line_plot(
        &run.path("curve.png"),
        "learning curve",
        "epoch",
        "nats per example",
        &[("train loss", &train), (val_name, &val)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_model_keeps_the_batchnorm_statistics_of_its_epoch() {
        use burn::nn::{BatchNorm, BatchNormConfig};
        use burn::tensor::{Device, Distribution};

        let device = Device::flex().autodiff();
        let dir = std::env::temp_dir().join(format!("dgm-core-fit-bn-{}", std::process::id()));
        let run = RunDir::create(&dir).unwrap();
        let schedule = Schedule {
            batch_size: 16,
            learning_rate: 0.0,
            max_epochs: 3,
            patience: 5,
        };
        let mut trainer = Trainer::on(device.clone(), 0, AdamaxConfig::new().init(), &schedule);
        // Epoch e normalises a batch with mean 100 e: the running mean climbs every epoch.
        let train = |_: &mut Trainer, norm: BatchNorm, epoch: usize| {
            let mean = 100.0 * epoch as f64;
            let x = Tensor::<2>::random([16, 3], Distribution::Normal(mean, 1.0), &device);
            let _ = norm.forward(x);
            Ok((norm, 0.0))
        };
        // Validation gets worse every epoch: the first epoch is the best.
        let mut val = 0.0;
        let fitted = fit(
            BatchNormConfig::new(3).init(&device),
            &mut trainer,
            "val",
            &run,
            false,
            train,
            |_| {
                val += 1.0;
                val
            },
        )
        .unwrap();
        assert_eq!(fitted.best_epoch, 0);
        // The later epochs' statistics (tens and hundreds) must not leak into the best model.
        let mean = crate::data::to_host(fitted.best_model.running_mean.value());
        assert!(mean.iter().all(|m| m.abs() < 1.0), "{mean:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stops_after_patience_plus_one_non_improving_epochs_and_keeps_the_best() {
        let mut stopping = EarlyStopping::new(2);
        let values = [5.0, 4.0, 4.0, 4.5, 3.9, 4.0, 4.1, 3.95, 1.0];
        let verdicts: Vec<Verdict> = values
            .iter()
            .enumerate()
            .map(|(epoch, &v)| stopping.observe(epoch, v))
            .take_while(|&v| v != Verdict::Stop)
            .collect();
        use Verdict::*;
        // Equal is not better; three non-improving epochs after epoch 4 stop at epoch 7.
        assert_eq!(
            verdicts,
            [
                Improved, Improved, Waiting, Waiting, Improved, Waiting, Waiting
            ]
        );
        assert_eq!(stopping.best(), Some((4, 3.9)));
    }

    #[test]
    fn the_first_epoch_is_always_an_improvement() {
        let mut stopping = EarlyStopping::new(0);
        assert_eq!(stopping.observe(0, f64::INFINITY), Verdict::Improved);
        assert_eq!(stopping.observe(1, f64::INFINITY), Verdict::Stop);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
