//! A tiny end-to-end run: a few steps, a report, a reload.

use ch10_gan::config::GanConfig;
use ch10_gan::experiment::{CHAPTER, GanCommand};
use dgm_core::cli::Command;
use dgm_core::config::Preset;
use dgm_core::data::DIGITS_DIM;
use dgm_core::testing::{assert_run_written, assert_samples_written, few_digits, quick_context};

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
    assert_samples_written(&ctx, 3, DIGITS_DIM, |request| {
        GanCommand.sample(&ctx, request)
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
