//! A tiny end-to-end run: a few steps, a report, a reload.

use ch10_gan::config::GanConfig;
use ch10_gan::experiment::{CHAPTER, GanCommand};
use dgm_core::cli::Command;
use dgm_core::config::Preset;
use dgm_core::testing::{assert_run_written, digit_samples, few_digits, quick_context};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "gan", 1);
    let config = GanConfig {
        epochs: 2,
        batch_size: 16,
        ..GanConfig::quick()
    };
    let report = GanCommand.train_on(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &[
            "test_discriminator_loss",
            "test_generator_loss",
            "sample_fd",
            "sample_confidence",
        ],
    );
    let request = digit_samples(3);
    let written = GanCommand.sample(&ctx, &request).unwrap();
    assert_eq!(written.len(), 1);
    assert!(written[0].is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
