//! A tiny end-to-end run: a few steps, a report with the reverse-process picture, a reload.

use ch06_diffusion::config::DdgmConfig;
use ch06_diffusion::experiment::{CHAPTER, DdgmCommand, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::report::Report;
use dgm_core::testing::{few_digits, quick_context};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "ddgm", 1);
    let digits = few_digits();
    let config = DdgmConfig {
        hidden: 16,
        batch_size: 8,
        max_epochs: 2,
        ..DdgmConfig::quick()
    };
    let report = train_and_report(&config, &digits, &ctx).unwrap();
    assert_eq!(Report::read(&dir.join("report.json")).unwrap(), report);
    for key in ["test_neg_elbo", "sample_fd", "sample_confidence"] {
        assert!(report.metrics[key].is_finite(), "{key}");
    }
    assert_eq!(report.artifacts["reverse"], "reverse.png");
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
    assert!(DdgmCommand::sample(&ctx, 3, None, None).unwrap().is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
