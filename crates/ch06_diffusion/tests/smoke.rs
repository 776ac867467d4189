//! A tiny end-to-end run: a few steps, a report with the reverse-process picture, a reload.

use ch06_diffusion::config::DdgmConfig;
use ch06_diffusion::experiment::{CHAPTER, Diffusion};
use dgm_core::config::Preset;
use dgm_core::testing::{assert_digit_model_trains, quick_context, tiny_schedule};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let quick = DdgmConfig::quick();
    let config = DdgmConfig {
        hidden: 16,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let run = quick_context("smoke", CHAPTER, "ddgm", 1);
    let metrics = ["test_neg_elbo", "sample_fd", "sample_confidence"];
    let report = assert_digit_model_trains(&Diffusion, &config, run, &metrics);
    assert_eq!(report.artifacts["reverse"], "reverse.png");
}
