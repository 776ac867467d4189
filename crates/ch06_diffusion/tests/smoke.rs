//! A tiny end-to-end run: a few steps, a report with the reverse-process picture, a reload.

use ch06_diffusion::config::DdgmConfig;
use ch06_diffusion::experiment::{CHAPTER, DdgmCommand, train_and_report};
use dgm_core::backend::BackendKind;
use dgm_core::cli::{ModelCommand, Preset, RunArgs};
use dgm_core::data::Digits;
use dgm_core::report::Report;
use dgm_core::run::RunContext;

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let dir = std::env::temp_dir().join(format!("ch06-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let args = RunArgs {
        quick: true,
        seed: 1,
        epochs: None,
        backend: BackendKind::Flex,
        threads: 0,
        out: Some(dir.clone()),
        report: None,
    };
    let ctx = RunContext::from_args(&args, CHAPTER, "ddgm").unwrap();
    let digits = Digits::load().unwrap();
    let digits = Digits {
        train: digits.train.head(40),
        val: digits.val.head(16),
        test: digits.test.head(16),
    };
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
