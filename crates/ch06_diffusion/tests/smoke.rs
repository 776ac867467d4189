//! A tiny end-to-end run: a few steps, a report with the reverse-process picture, a reload.

use ch06_diffusion::config::DdgmConfig;
use ch06_diffusion::experiment::{CHAPTER, Diffusion};
use dgm_core::config::Preset;
use dgm_core::experiment::{DigitModel, sample_digit_model};
use dgm_core::report::Report;
use dgm_core::testing::{digit_samples, few_digits, quick_context, tiny_schedule};

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, "ddgm", 1);
    let digits = few_digits();
    let quick = DdgmConfig::quick();
    let config = DdgmConfig {
        hidden: 16,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    let report = Diffusion.train(&config, &digits, &ctx).unwrap();
    assert_eq!(Report::read(&dir.join("report.json")).unwrap(), report);
    for key in ["test_neg_elbo", "sample_fd", "sample_confidence"] {
        assert!(report.metrics[key].is_finite(), "{key}");
    }
    assert_eq!(report.artifacts["reverse"], "reverse.png");
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
    let request = digit_samples(3);
    let written = sample_digit_model(&Diffusion, &ctx, &request).unwrap();
    assert!(written.iter().all(|file| file.is_file()));
    assert_eq!(written.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
