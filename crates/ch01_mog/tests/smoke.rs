//! Tiny end-to-end runs: a few steps, a report, a reload.

use ch01_mog::config::MogConfig;
use ch01_mog::experiment::{CHAPTER, MogCommand, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::testing::{assert_run_written, few_digits, quick_context};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "mog", 1);
    let config = MogConfig {
        components: 3,
        max_epochs: 2,
        learn_weights: true,
        ..MogConfig::quick()
    };
    let report = train_and_report(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &["test_nll", "sample_fd", "sample_confidence"],
    );
    assert!(MogCommand::sample(&ctx, 3, None, None).unwrap().is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
