//! Tiny end-to-end runs of the three models: a few steps, a report, a reload.

use std::path::PathBuf;

use ch03_flows::config::{IdfConfig, MoonsConfig, RealNvpConfig};
use ch03_flows::experiments::idf::IdfCommand;
use ch03_flows::experiments::moons::MoonsCommand;
use ch03_flows::experiments::realnvp::RealNvpCommand;
use ch03_flows::experiments::{CHAPTER, idf, moons, realnvp};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::testing::{few_digits, quick_context};

fn context(name: &str, model: &'static str) -> (RunContext, PathBuf) {
    quick_context(name, CHAPTER, model, 5)
}

/// The report on disk equals the returned one, every artifact exists, the metrics are finite.
fn check_report(report: &Report, dir: &std::path::Path, metrics: &[&str]) {
    assert_eq!(&Report::read(&dir.join("report.json")).unwrap(), report);
    assert_eq!(report.epochs_run, 2);
    for key in metrics {
        let value = report.metrics[*key];
        assert!(value.is_finite(), "{key} = {value}");
    }
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
}

#[test]
fn realnvp_runs_reports_and_reloads() {
    let (ctx, dir) = context("realnvp", realnvp::MODEL);
    let mut config = RealNvpConfig::quick();
    config.flow.hidden = 16;
    config.batch_size = 8;
    config.max_epochs = 2;
    let report = realnvp::train_and_report(&config, &few_digits(), &ctx).unwrap();
    check_report(
        &report,
        &dir,
        &[
            "test_nll_dequantized",
            "test_nll_discrete_bound",
            "test_bpd",
        ],
    );
    let npy = dir.join("s.npy");
    assert!(
        RealNvpCommand::sample(&ctx, 3, None, Some(&npy))
            .unwrap()
            .is_file()
    );
    // 128-byte header, then 3 x 64 float32 values.
    assert_eq!(std::fs::metadata(&npy).unwrap().len(), 128 + 3 * 64 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn idf_runs_reports_and_reloads() {
    let (ctx, dir) = context("idf", idf::MODEL);
    let config = IdfConfig {
        hidden: 16,
        flows: 2,
        batch_size: 8,
        max_epochs: 2,
        ..IdfConfig::quick()
    };
    let report = idf::train_and_report(&config, &few_digits(), &ctx).unwrap();
    check_report(&report, &dir, &["test_nll", "test_bpd"]);
    assert!(IdfCommand::sample(&ctx, 2, None, None).unwrap().is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn moons_runs_reports_and_reloads() {
    let (ctx, dir) = context("moons", moons::MODEL);
    let mut config = MoonsConfig::quick();
    config.flow.hidden = 16;
    config.points = 512;
    config.eval_points = 128;
    config.epochs = 2;
    let report = moons::train_and_report(&config, &ctx).unwrap();
    check_report(
        &report,
        &dir,
        &[
            "test_nll",
            "latent_mean_max_abs",
            "latent_cov_max_deviation",
        ],
    );
    let npy = dir.join("points.npy");
    assert!(
        MoonsCommand::sample(&ctx, 10, None, Some(&npy))
            .unwrap()
            .is_file()
    );
    assert_eq!(std::fs::metadata(&npy).unwrap().len(), 128 + 10 * 2 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_moons_are_standardised_with_the_training_statistics() {
    let data = moons::MoonsData::generate(&MoonsConfig::quick(), 1);
    for d in 0..2 {
        let column: Vec<f64> = data
            .train
            .pixels
            .iter()
            .skip(d)
            .step_by(2)
            .map(|&v| v as f64)
            .collect();
        let n = column.len() as f64;
        let mean = column.iter().sum::<f64>() / n;
        let var = column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "dim {d}: mean {mean}, var {var}"
        );
    }
}

#[test]
fn reloading_without_a_run_says_to_train_first() {
    let (ctx, _) = context("missing", idf::MODEL);
    let err = IdfCommand::sample(&ctx, 4, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("train the model first"), "{err}");
    assert!(
        err.contains("cargo run --release -p ch03_flows -- idf --quick"),
        "{err}"
    );
}

#[test]
fn a_run_of_another_model_is_refused() {
    let (idf_ctx, dir) = context("other", idf::MODEL);
    let config = IdfConfig {
        hidden: 8,
        flows: 1,
        batch_size: 8,
        max_epochs: 1,
        ..IdfConfig::quick()
    };
    idf::train_and_report(&config, &few_digits(), &idf_ctx).unwrap();
    let realnvp_ctx = RunContext {
        model: realnvp::MODEL,
        ..idf_ctx.clone()
    };
    let err = RealNvpCommand::sample(&realnvp_ctx, 2, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds a `idf` run, not a `realnvp` run"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
