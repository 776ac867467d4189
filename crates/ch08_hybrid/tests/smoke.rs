//! A tiny end-to-end run: a few steps, a report, a reload.

use ch08_hybrid::config::HybridConfig;
use ch08_hybrid::experiment::{CHAPTER, HybridCommand, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::testing::{assert_run_written, few_digits, quick_context};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "hybrid", 1);
    let config = HybridConfig {
        hidden: 16,
        batch_size: 8,
        max_epochs: 2,
        ..HybridConfig::quick()
    };
    let report = train_and_report(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &["test_error", "test_nll", "sample_fd", "sample_confidence"],
    );
    assert!(
        HybridCommand::sample(&ctx, 3, None, None)
            .unwrap()
            .is_file()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
