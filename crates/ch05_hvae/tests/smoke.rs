//! A tiny end-to-end run: a few steps, a report, a reload.

use ch05_hvae::config::HvaeConfig;
use ch05_hvae::experiment::{CHAPTER, HvaeCommand, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::report::Report;
use dgm_core::testing::{few_digits, quick_context};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "hvae", 1);
    let digits = few_digits();
    let config = HvaeConfig {
        hidden: 16,
        batch_size: 8,
        max_epochs: 2,
        iw_samples: 5,
        ..HvaeConfig::quick()
    };
    let report = train_and_report(&config, &digits, &ctx).unwrap();
    assert_eq!(Report::read(&dir.join("report.json")).unwrap(), report);
    for key in ["test_neg_elbo", "test_nll_iw", "test_bpd"] {
        assert!(report.metrics[key].is_finite(), "{key}");
    }
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
    assert!(HvaeCommand::sample(&ctx, 3, None, None).unwrap().is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
