//! A tiny end-to-end run: a few steps, a report, a reload.

use ch09_ebm::config::EbmConfig;
use ch09_ebm::experiment::{CHAPTER, EbmCommand};
use dgm_core::config::Preset;
use dgm_core::testing::{assert_digit_model_trains, quick_context, tiny_schedule};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let quick = EbmConfig::quick();
    let config = EbmConfig {
        hidden: 16,
        langevin_steps: 3,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let run = quick_context("smoke", CHAPTER, "ebm", 1);
    let metrics = [
        "test_error",
        "test_total_loss",
        "sample_fd",
        "sample_confidence",
    ];
    assert_digit_model_trains(&EbmCommand, &config, run, &metrics);
}
