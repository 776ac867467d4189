//! A tiny end-to-end run: a few steps, a report, a reload.

use ch09_ebm::config::EbmConfig;
use ch09_ebm::experiment::{CHAPTER, EbmCommand};
use dgm_core::cli::Command;
use dgm_core::config::Preset;
use dgm_core::testing::{
    assert_run_written, digit_samples, few_digits, quick_context, tiny_schedule,
};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "ebm", 1);
    let quick = EbmConfig::quick();
    let config = EbmConfig {
        hidden: 16,
        langevin_steps: 3,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let report = EbmCommand.train_on(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &[
            "test_error",
            "test_total_loss",
            "sample_fd",
            "sample_confidence",
        ],
    );
    let request = digit_samples(3);
    let written = EbmCommand.sample(&ctx, &request).unwrap();
    assert!(written[0].is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
