//! What every chapter's tests set up: a device seeded for one test at a time, a quick run's
//! context in a fresh temporary directory, a handful of digits and a schedule of a few steps;
//! and what several chapters' tests check: a finished run's files, its samples on disk, the
//! mass of a 2-D density.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Result;
use burn::tensor::{Device, Tensor, TensorData};

use crate::backend::BackendKind;
use crate::cli::Flags;
use crate::config::Schedule;
use crate::data::{DIGITS_DIM, Digits, to_host};
use crate::experiment::{DigitModel, DigitSamples, sample_digit_model};
use crate::report::Report;
use crate::run::RunContext;
use crate::snapshot::Snapshot;
use crate::train::SNAPSHOT;

/// The random generator of a device is one for the whole process, and tests run in parallel:
/// a test holds this lock while it seeds and draws, so its numbers do not depend on the others.
static RANDOM_STREAM: Mutex<()> = Mutex::new(());

/// The lock on the process's random stream, held for as long as a test draws from it.
pub type StreamLock = MutexGuard<'static, ()>;

/// A flex device seeded with `seed`, and the lock that keeps other tests from drawing until it
/// is dropped.
pub fn seeded_device(seed: u64) -> (Device, StreamLock) {
    let lock = RANDOM_STREAM
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    device.seed(seed);
    (device, lock)
}

/// `schedule` cut to a smoke test's size: batches of 8 and two epochs.
pub fn tiny_schedule(schedule: Schedule) -> Schedule {
    Schedule {
        batch_size: 8,
        max_epochs: 2,
        ..schedule
    }
}

/// What `sample --n <n>` asks for, with no other flag.
pub fn digit_samples(n: usize) -> DigitSamples {
    DigitSamples {
        n,
        grid: None,
        samples_out: None,
    }
}

/// The context of a quick run of `chapter`'s `model` with `seed`, writing to a fresh directory
/// named after `name` and the process (removed first if it exists). Returns it and the directory.
pub fn quick_context(
    name: &str,
    chapter: &'static str,
    model: &'static str,
    seed: u64,
) -> (RunContext, PathBuf) {
    let dir = std::env::temp_dir().join(format!("{chapter}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let args = Flags {
        quick: true,
        seed,
        epochs: None,
        resume: false,
        backend: BackendKind::Flex,
        threads: 0,
        out: Some(dir.clone()),
        report: None,
    };
    let ctx = args
        .context(chapter, model, model.into())
        .expect("the flex device is available");
    (ctx, dir)
}

/// 40 training images and 16 for validation and test: enough for a few steps of any model.
pub fn few_digits() -> Digits {
    let digits = Digits::load().expect("the digits ship with the repository");
    Digits {
        train: digits.train.head(40),
        val: digits.val.head(16),
        test: digits.test.head(16),
    }
}

/// A finished run's report is the one on disk, the given metrics are finite, and every artifact
/// it lists was written.
pub fn assert_run_written(report: &Report, dir: &Path, metrics: &[&str]) {
    let written = Report::read(&dir.join("report.json")).expect("report.json");
    assert_eq!(written, *report);
    for key in metrics {
        assert!(report.metrics[*key].is_finite(), "{key}");
    }
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
}

/// Trains `model` with `config` on [`few_digits`] in the run `ctx` writing to `dir` (from
/// [`quick_context`]), requires its report on disk, the finite `metrics` and every file it
/// lists, reloads the run and draws 3 digits with and without `--samples-out`
/// ([`assert_digit_samples_written`]), then removes the directory. Returns the report.
pub fn assert_digit_model_trains<M: DigitModel>(
    model: &M,
    config: &M::Config,
    (ctx, dir): (RunContext, PathBuf),
    metrics: &[&str],
) -> Report {
    let report = model
        .train(config, &few_digits(), &ctx)
        .expect("the run trains");
    assert_run_written(&report, &dir, metrics);
    assert_digit_samples_written(model, &ctx, 3);
    std::fs::remove_dir_all(&dir).unwrap();
    report
}

/// Asks `model` for 2 digits from the run `ctx` and requires the reload to be refused, with a
/// message that holds every one of `reasons`.
pub fn assert_reload_refused<M: DigitModel>(model: &M, ctx: &RunContext, reasons: &[&str]) {
    let err = sample_digit_model(model, ctx, &digit_samples(2))
        .expect_err("the reload is refused")
        .to_string();
    for reason in reasons {
        assert!(err.contains(reason), "{err}");
    }
}

/// Asks `sample` for `n` samples of `dim` values each from the finished run of `ctx`, twice:
/// as `sample --n <n>`, which must write only the picture, and with `--samples-out s.npy` in
/// the run directory, which must write the picture and the `.npy` file, a 128-byte header and
/// then `n x dim` float32 values.
pub fn assert_samples_written(
    ctx: &RunContext,
    n: usize,
    dim: usize,
    sample: impl Fn(&DigitSamples) -> Result<Vec<PathBuf>>,
) {
    let picture = sample(&digit_samples(n)).expect("the run reloads");
    assert_eq!(picture.len(), 1, "{picture:?}");
    assert!(picture[0].is_file(), "{picture:?} was not written");

    let npy = ctx.out_dir.join("s.npy");
    let request = DigitSamples {
        samples_out: Some(npy.clone()),
        ..digit_samples(n)
    };
    let written = sample(&request).expect("the run reloads");
    assert_eq!(written.len(), 2, "{written:?}");
    assert_eq!(written[1], npy);
    assert!(written.iter().all(|file| file.is_file()), "{written:?}");
    let bytes = std::fs::metadata(&npy).unwrap().len();
    assert_eq!(bytes as usize, 128 + n * dim * 4, "{}", npy.display());
}

/// Reloads the finished run `ctx` of `model` and draws `n` digits: [`assert_samples_written`]
/// with the 64 pixels of a digit.
pub fn assert_digit_samples_written<M: DigitModel>(model: &M, ctx: &RunContext, n: usize) {
    assert_samples_written(ctx, n, DIGITS_DIM, |request| {
        sample_digit_model(model, ctx, request)
    });
}

/// The integral of a density over the square [-half, half]^2 by the midpoint rule with `steps`
/// cells a side: `log_density` is given the centres of the cells, [steps * steps, 2], and
/// returns log p at each. Close to 1 when (almost) all of the mass lies inside the square.
pub fn mass_on_square(
    half: f32,
    steps: usize,
    device: &Device,
    log_density: impl FnOnce(Tensor<2>) -> Tensor<1>,
) -> f64 {
    let h = 2.0 * half / steps as f32;
    let centres: Vec<f32> = (0..steps * steps)
        .flat_map(|k| {
            let (i, j) = (k / steps, k % steps);
            [-half + (i as f32 + 0.5) * h, -half + (j as f32 + 0.5) * h]
        })
        .collect();
    let points = Tensor::<2>::from_data(TensorData::new(centres, [steps * steps, 2]), device);
    let cell = (h as f64).powi(2);
    to_host(log_density(points))
        .iter()
        .map(|&log_p| (log_p as f64).exp() * cell)
        .sum()
}

// ANCHOR: resume_test
/// Runs the chapter binary `binary` with `args` twice in fresh directories and requires the same
/// report: once left alone, once stopped by Ctrl-C (SIGINT) after its snapshot holds `epochs`
/// epochs and then continued with `--resume`. The stopped run must exit with 130 and say how
/// to resume. Only the timings may differ.
pub fn assert_resume_is_exact(binary: &Path, args: &[&str], epochs: usize) {
    let root = std::env::temp_dir().join(format!("dgm-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (alone, stopped) = (root.join("alone"), root.join("stopped"));
    let run = |out: &Path, extra: &[&str]| {
        let mut command = Command::new(binary);
        command
            .args(args)
            .arg("--out")
            .arg(out)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };

    let status = run(&alone, &[]).status().expect("the binary runs");
    assert!(status.success(), "the run left alone failed");

    let mut child = run(&stopped, &[]).spawn().expect("the binary runs");
    let snapshot = stopped.join(SNAPSHOT);
    let deadline = Instant::now() + Duration::from_secs(600);
    while !Snapshot::load(&snapshot).is_ok_and(|s| s.epochs_done() >= epochs) {
        assert!(Instant::now() < deadline, "no snapshot of {epochs} epochs");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was stopped"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Frozen while the signal is delivered, so the run cannot finish in between.
    let pid = child.id().to_string();
    for signal in ["-STOP", "-INT", "-CONT"] {
        let sent = Command::new("kill").args([signal, &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill {signal} failed");
    }
    let output = child.wait_with_output().expect("the run stops");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");

    let status = run(&stopped, &["--resume"])
        .status()
        .expect("the binary runs");
    assert!(status.success(), "the resumed run failed");

    let timeless = |dir: &Path| Report {
        wall_seconds: 0.0,
        s_per_epoch: 0.0,
        ..Report::read(&dir.join("report.json")).expect("report.json")
    };
    assert_eq!(timeless(&stopped), timeless(&alone));
    std::fs::remove_dir_all(&root).unwrap();
}
// ANCHOR_END: resume_test
