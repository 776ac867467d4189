//! Tiny end-to-end runs: a few steps, a report, a reload.

use ch07_score::config::{FmConfig, SbgmConfig, SmConfig};
use ch07_score::experiment::CHAPTER;
use ch07_score::experiment::fm::FlowMatching;
use ch07_score::experiment::sbgm::ScoreSde;
use ch07_score::experiment::sm::ScoreMatching;
use dgm_core::config::Preset;
use dgm_core::experiment::{DigitModel, sample_digit_model};
use dgm_core::testing::{
    assert_run_written, digit_samples, few_digits, quick_context, tiny_schedule,
};

/// Reloads the run of `model` and draws 3 images: the grid is written.
fn reload_and_sample(model: &impl DigitModel, ctx: &dgm_core::run::RunContext) {
    let request = digit_samples(3);
    let written = sample_digit_model(model, ctx, &request).unwrap();
    assert_eq!(written.len(), 1);
    assert!(written[0].is_file());
}

#[test]
fn flow_matching_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke-fm", CHAPTER, "fm", 1);
    let quick = FmConfig::quick();
    let config = FmConfig {
        hidden: 16,
        ode_points: 5,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let report = FlowMatching.train(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &["test_nll_ode", "test_bpd", "sample_fd", "sample_confidence"],
    );
    reload_and_sample(&FlowMatching, &ctx);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn score_matching_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke-sm", CHAPTER, "sm", 1);
    let quick = SmConfig::quick();
    let config = SmConfig {
        hidden: 16,
        langevin_steps: 5,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let report = ScoreMatching.train(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &["test_dsm_loss", "sample_fd", "sample_confidence"],
    );
    reload_and_sample(&ScoreMatching, &ctx);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sde_model_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke-sbgm", CHAPTER, "sbgm", 1);
    let quick = SbgmConfig::quick();
    let config = SbgmConfig {
        hidden: 16,
        euler_points: 5,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let report = ScoreSde.train(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &[
            "test_denoising_loss",
            "test_nll_ode",
            "test_bpd",
            "sample_fd",
            "sample_confidence",
        ],
    );
    reload_and_sample(&ScoreSde, &ctx);
    std::fs::remove_dir_all(&dir).unwrap();
}
