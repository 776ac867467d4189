//! A tiny end-to-end run: a few steps, a report, a reload.

use ch10_gan::config::GanConfig;
use ch10_gan::experiment::{CHAPTER, GanCommand, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::report::Report;
use dgm_core::testing::{few_digits, quick_context};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "gan", 1);
    let config = GanConfig {
        epochs: 2,
        batch_size: 16,
        ..GanConfig::quick()
    };
    let report = train_and_report(&config, &few_digits(), &ctx).unwrap();
    assert_eq!(Report::read(&dir.join("report.json")).unwrap(), report);
    for key in [
        "test_discriminator_loss",
        "test_generator_loss",
        "sample_fd",
        "sample_confidence",
    ] {
        assert!(report.metrics[key].is_finite(), "{key}");
    }
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
    assert!(GanCommand::sample(&ctx, 3, None, None).unwrap().is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
