//! A tiny end-to-end run: a few steps, a report, a reload.

use ch05_hvae::config::HvaeConfig;
use ch05_hvae::experiment::{CHAPTER, HvaeCommand};
use dgm_core::config::Preset;
use dgm_core::testing::{assert_digit_model_trains, quick_context, tiny_schedule};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let quick = HvaeConfig::quick();
    let config = HvaeConfig {
        hidden: 16,
        schedule: tiny_schedule(quick.schedule),
        iw_samples: 5,
        ..quick
    };
    let run = quick_context("smoke", CHAPTER, "hvae", 1);
    let metrics = ["test_neg_elbo", "test_nll_iw", "test_bpd"];
    assert_digit_model_trains(&HvaeCommand, &config, run, &metrics);
}
