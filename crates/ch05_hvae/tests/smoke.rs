//! A tiny end-to-end run: a few steps, a report, a reload.

use ch05_hvae::config::HvaeConfig;
use ch05_hvae::experiment::{CHAPTER, HvaeCommand};
use dgm_core::config::Preset;
use dgm_core::experiment::{DigitModel, sample_digit_model};
use dgm_core::report::Report;
use dgm_core::testing::{digit_samples, few_digits, quick_context, tiny_schedule};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "hvae", 1);
    let digits = few_digits();
    let quick = HvaeConfig::quick();
    let config = HvaeConfig {
        hidden: 16,
        schedule: tiny_schedule(quick.schedule),
        iw_samples: 5,
        ..quick
    };
    let report = HvaeCommand.train(&config, &digits, &ctx).unwrap();
    assert_eq!(Report::read(&dir.join("report.json")).unwrap(), report);
    for key in ["test_neg_elbo", "test_nll_iw", "test_bpd"] {
        assert!(report.metrics[key].is_finite(), "{key}");
    }
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
    let request = digit_samples(3);
    let written = sample_digit_model(&HvaeCommand, &ctx, &request).unwrap();
    assert!(written[0].is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
