//! Tiny end-to-end runs: a few steps, a report, a reload.

use ch07_score::config::{FmConfig, SbgmConfig, SmConfig};
use ch07_score::experiments::{CHAPTER, fm, sbgm, sm};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::testing::{assert_run_written, few_digits, quick_context};

#[test]
fn flow_matching_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke-fm", CHAPTER, "fm", 1);
    let config = FmConfig {
        hidden: 16,
        batch_size: 8,
        max_epochs: 2,
        ode_points: 5,
        ..FmConfig::quick()
    };
    let report = fm::train_and_report(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &["test_nll_ode", "test_bpd", "sample_fd", "sample_confidence"],
    );
    assert!(
        fm::FmCommand::sample(&ctx, 3, None, None)
            .unwrap()
            .is_file()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn score_matching_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke-sm", CHAPTER, "sm", 1);
    let config = SmConfig {
        hidden: 16,
        batch_size: 8,
        max_epochs: 2,
        langevin_steps: 5,
        ..SmConfig::quick()
    };
    let report = sm::train_and_report(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &["test_dsm_loss", "sample_fd", "sample_confidence"],
    );
    assert!(
        sm::SmCommand::sample(&ctx, 3, None, None)
            .unwrap()
            .is_file()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sde_model_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke-sbgm", CHAPTER, "sbgm", 1);
    let config = SbgmConfig {
        hidden: 16,
        batch_size: 8,
        max_epochs: 2,
        euler_points: 5,
        ..SbgmConfig::quick()
    };
    let report = sbgm::train_and_report(&config, &few_digits(), &ctx).unwrap();
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
    assert!(
        sbgm::SbgmCommand::sample(&ctx, 3, None, None)
            .unwrap()
            .is_file()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
