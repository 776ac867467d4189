//! Tiny end-to-end runs: a few steps, a report, a reload.

use ch07_score::config::{FmConfig, SbgmConfig, SmConfig};
use ch07_score::experiment::CHAPTER;
use ch07_score::experiment::fm::FlowMatching;
use ch07_score::experiment::sbgm::ScoreSde;
use ch07_score::experiment::sm::ScoreMatching;
use dgm_core::config::Preset;
use dgm_core::testing::{assert_digit_model_trains, quick_context, tiny_schedule};

#[test]
fn flow_matching_writes_its_report_and_can_be_reloaded() {
    let quick = FmConfig::quick();
    let config = FmConfig {
        hidden: 16,
        ode_points: 5,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let run = quick_context("smoke-fm", CHAPTER, "fm", 1);
    let metrics = ["test_nll_ode", "test_bpd", "sample_fd", "sample_confidence"];
    assert_digit_model_trains(&FlowMatching, &config, run, &metrics);
}

#[test]
fn score_matching_writes_its_report_and_can_be_reloaded() {
    let quick = SmConfig::quick();
    let config = SmConfig {
        hidden: 16,
        langevin_steps: 5,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let run = quick_context("smoke-sm", CHAPTER, "sm", 1);
    let metrics = ["test_dsm_loss", "sample_fd", "sample_confidence"];
    assert_digit_model_trains(&ScoreMatching, &config, run, &metrics);
}

#[test]
fn the_sde_model_writes_its_report_and_can_be_reloaded() {
    let quick = SbgmConfig::quick();
    let config = SbgmConfig {
        hidden: 16,
        euler_points: 5,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let run = quick_context("smoke-sbgm", CHAPTER, "sbgm", 1);
    let metrics = [
        "test_denoising_loss",
        "test_nll_ode",
        "test_bpd",
        "sample_fd",
        "sample_confidence",
    ];
    assert_digit_model_trains(&ScoreSde, &config, run, &metrics);
}
