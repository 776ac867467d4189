//! A tiny end-to-end run: five training steps, a report, a reload.

use ch02_arm::config::ArmConfig;
use ch02_arm::experiment::{CHAPTER, CausalConv, MODEL, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::data::Digits;
use dgm_core::report::Report;
use dgm_core::testing::{few_digits, quick_context};

/// Two epochs of five steps of 8 images each; validation and test on 16 images.
fn tiny_run() -> (ArmConfig, Digits) {
    let config = ArmConfig {
        channels: 8,
        batch_size: 8,
        max_epochs: 2,
        ..ArmConfig::quick()
    };
    (config, few_digits())
}

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, MODEL, 3);
    let (config, digits) = tiny_run();
    let report = train_and_report(&config, &digits, &ctx).unwrap();

    let written = Report::read(&dir.join("report.json")).unwrap();
    assert_eq!(written, report);
    assert_eq!(report.epochs_run, 2);
    let nll = report.metrics["test_nll"];
    assert!(nll.is_finite() && nll > 0.0, "test_nll {nll}");
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }

    let npy = dir.join("s.npy");
    let grid = CausalConv::sample(&ctx, 3, None, Some(&npy)).unwrap();
    assert!(grid.is_file());
    // 128-byte header, then 3 x 64 float32 values.
    assert_eq!(std::fs::metadata(&npy).unwrap().len(), 128 + 3 * 64 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reloading_without_a_run_says_to_train_first() {
    let (ctx, _) = quick_context("missing", CHAPTER, MODEL, 3);
    let err = CausalConv::sample(&ctx, 4, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("train the model first"), "{err}");
    assert!(
        err.contains("cargo run --release -p ch02_arm -- causal-conv --quick"),
        "{err}"
    );
}

#[test]
fn a_checkpoint_of_another_size_is_refused_with_a_message() {
    let (ctx, dir) = quick_context("mismatch", CHAPTER, MODEL, 3);
    let (config, digits) = tiny_run();
    let config = ArmConfig {
        max_epochs: 1,
        ..config
    };
    train_and_report(&config, &digits, &ctx).unwrap();
    // Pretend the run was made with 16 channels: the checkpoint no longer fits.
    let wider = ArmConfig {
        channels: 16,
        ..config
    };
    let tagged = serde_json::json!({ "model": MODEL, "config": wider });
    std::fs::write(dir.join("config.json"), tagged.to_string()).unwrap();
    let err = CausalConv::sample(&ctx, 2, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not fit this model"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
