//! Tiny end-to-end runs: a few steps, a report, a reload.

use ch01_mog::config::MogConfig;
use ch01_mog::experiment::{CHAPTER, MogCommand};
use dgm_core::config::{Preset, Schedule};
use dgm_core::experiment::{DigitModel, sample_digit_model};
use dgm_core::testing::{assert_run_written, digit_samples, few_digits, quick_context};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let quick = MogConfig::quick();
    let config = MogConfig {
        components: 3,
        learn_weights: true,
        schedule: Schedule {
            max_epochs: 2,
            ..quick.schedule
        },
        ..quick
    };
    let mog = MogCommand {
        learn_weights: true,
    };
    let (ctx, dir) = quick_context("smoke", CHAPTER, mog.name(), 1);
    let report = mog.train(&config, &few_digits(), &ctx).unwrap();
    assert_run_written(
        &report,
        &dir,
        &["test_nll", "sample_fd", "sample_confidence"],
    );
    let request = digit_samples(3);
    let written = sample_digit_model(&mog, &ctx, &request).unwrap();
    assert!(written[0].is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
