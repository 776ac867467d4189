//! A tiny end-to-end run: a few steps, a report, a reload.

use ch10_gan::config::GanConfig;
use ch10_gan::experiment::{CHAPTER, GanCommand, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::testing::{assert_run_written, few_digits, quick_context};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "gan", 1);
    let config = GanConfig {
        epochs: 2,
        batch_size: 16,
        ..GanConfig::quick()
    };
    let report = train_and_report(&config, &few_digits(), &ctx).unwrap();
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
    assert!(GanCommand::sample(&ctx, 3, None, None).unwrap().is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
