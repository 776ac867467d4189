//! What every chapter's tests set up: a device seeded for one test at a time, a quick run's
//! context in a fresh temporary directory, a handful of digits and a schedule of a few steps.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use burn::tensor::Device;

use crate::backend::BackendKind;
use crate::cli::Flags;
use crate::config::Schedule;
use crate::data::Digits;
use crate::experiment::DigitSamples;
use crate::run::RunContext;

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
pub fn assert_run_written(report: &crate::report::Report, dir: &std::path::Path, metrics: &[&str]) {
    let written = crate::report::Report::read(&dir.join("report.json")).expect("report.json");
    assert_eq!(written, *report);
    for key in metrics {
        assert!(report.metrics[*key].is_finite(), "{key}");
    }
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
}
