//! Tiny end-to-end runs: a few steps, a report, a reload.

use ch01_mog::config::MogConfig;
use ch01_mog::experiment::{CHAPTER, MogCommand};
use dgm_core::config::{Preset, Schedule};
use dgm_core::experiment::DigitModel;
use dgm_core::testing::{assert_digit_model_trains, quick_context};

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
    let run = quick_context("smoke", CHAPTER, mog.name(), 1);
    let metrics = ["test_nll", "sample_fd", "sample_confidence"];
    assert_digit_model_trains(&mog, &config, run, &metrics);
}
