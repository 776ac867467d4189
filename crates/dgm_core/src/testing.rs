//! What every chapter's tests set up: a device seeded for one test at a time, a quick run's
//! context in a fresh temporary directory, a handful of digits and a schedule of a few steps.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use burn::tensor::Device;

use crate::backend::BackendKind;
use crate::cli::Flags;
use crate::config::Schedule;
use crate::data::Digits;
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
/// lists, reloads the run and draws 3 images, then removes the directory. Returns the report.
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
    let written = sample_digit_model(model, &ctx, &digit_samples(3)).expect("the run reloads");
    assert_eq!(written.len(), 1);
    assert!(written[0].is_file());
    std::fs::remove_dir_all(&dir).unwrap();
    report
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
