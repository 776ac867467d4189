//! A tiny end-to-end run: a few steps, a report, a reload.

use ch08_hybrid::config::HybridConfig;
use ch08_hybrid::experiment::{CHAPTER, HybridCommand};
use dgm_core::config::Preset;
use dgm_core::testing::{assert_digit_model_trains, quick_context, tiny_schedule};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let quick = HybridConfig::quick();
    let config = HybridConfig {
        hidden: 16,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let run = quick_context("smoke", CHAPTER, "hybrid", 1);
    let metrics = ["test_error", "test_nll", "sample_fd", "sample_confidence"];
    assert_digit_model_trains(&HybridCommand, &config, run, &metrics);
}
