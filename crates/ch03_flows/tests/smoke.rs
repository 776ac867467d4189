//! Tiny end-to-end runs of the three models: a few steps, a report, a reload.

use std::path::PathBuf;

use ch03_flows::config::{IdfConfig, MoonsConfig, RealNvpConfig};
use ch03_flows::experiment::CHAPTER;
use ch03_flows::experiment::idf::IdfCommand;
use ch03_flows::experiment::moons::MoonsCommand;
use ch03_flows::experiment::realnvp::RealNvpCommand;
use ch03_flows::moons::MoonsData;
use dgm_core::config::{Preset, Schedule};
use dgm_core::experiment::{DigitModel, DigitSamples, sample_digit_model};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::testing::{digit_samples, few_digits, quick_context};

const IDF: IdfCommand = IdfCommand { data_init: false };

fn context(name: &str, model: &'static str) -> (RunContext, PathBuf) {
    quick_context(name, CHAPTER, model, 5)
}

/// Batches of 8 for `max_epochs` epochs.
fn tiny(schedule: Schedule, max_epochs: usize) -> Schedule {
    Schedule {
        batch_size: 8,
        max_epochs,
        ..schedule
    }
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
    let (ctx, dir) = context("realnvp", "realnvp");
    let mut config = RealNvpConfig::quick();
    config.flow.hidden = 16;
    config.schedule = tiny(config.schedule, 2);
    let report = RealNvpCommand.train(&config, &few_digits(), &ctx).unwrap();
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
    let written = sample_digit_model(
        &RealNvpCommand,
        &ctx,
        &DigitSamples {
            samples_out: Some(npy.clone()),
            ..digit_samples(3)
        },
    )
    .unwrap();
    assert_eq!(written.len(), 2);
    assert!(written.iter().all(|file| file.is_file()));
    // 128-byte header, then 3 x 64 float32 values.
    assert_eq!(std::fs::metadata(&npy).unwrap().len(), 128 + 3 * 64 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn idf_runs_reports_and_reloads() {
    let (ctx, dir) = context("idf", "idf");
    let quick = IdfConfig::quick();
    let config = IdfConfig {
        hidden: 16,
        flows: 2,
        schedule: tiny(quick.schedule, 2),
        ..quick
    };
    let report = IDF.train(&config, &few_digits(), &ctx).unwrap();
    check_report(&report, &dir, &["test_nll", "test_bpd"]);
    let written = sample_digit_model(&IDF, &ctx, &digit_samples(2)).unwrap();
    assert!(written[0].is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn moons_runs_reports_and_reloads() {
    // Not a digit model: it is a command of its own.
    use dgm_core::cli::Command;
    let (ctx, dir) = context("moons", "realnvp-moons");
    let mut config = MoonsConfig::quick();
    config.flow.hidden = 16;
    config.points = 512;
    config.eval_points = 128;
    config.epochs = 2;
    let report = MoonsCommand.train(&config, &ctx).unwrap();
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
    let written = MoonsCommand
        .sample(
            &ctx,
            &DigitSamples {
                samples_out: Some(npy.clone()),
                ..digit_samples(10)
            },
        )
        .unwrap();
    assert!(written.iter().all(|file| file.is_file()));
    assert_eq!(std::fs::metadata(&npy).unwrap().len(), 128 + 10 * 2 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_moons_are_standardised_with_the_training_statistics() {
    let data = MoonsData::generate(&MoonsConfig::quick(), 1);
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
    let (ctx, _) = context("missing", "idf");
    let err = sample_digit_model(&IDF, &ctx, &digit_samples(4))
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
    let (idf_ctx, dir) = context("other", "idf");
    let quick = IdfConfig::quick();
    let config = IdfConfig {
        hidden: 8,
        flows: 1,
        schedule: tiny(quick.schedule, 1),
        ..quick
    };
    IDF.train(&config, &few_digits(), &idf_ctx).unwrap();
    let realnvp_ctx = RunContext {
        model: "realnvp",
        ..idf_ctx.clone()
    };
    let err = sample_digit_model(&RealNvpCommand, &realnvp_ctx, &digit_samples(2))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds a `idf` run, not a `realnvp` run"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
