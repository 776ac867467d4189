//! Tiny end-to-end runs of the three models: a few steps, a report, a reload.

use std::path::PathBuf;

use ch03_flows::config::{IdfConfig, MoonsConfig, RealNvpConfig};
use ch03_flows::experiment::CHAPTER;
use ch03_flows::experiment::idf::IdfCommand;
use ch03_flows::experiment::moons::MoonsCommand;
use ch03_flows::experiment::realnvp::RealNvpCommand;
use ch03_flows::moons::MoonsData;
use dgm_core::config::{Preset, Schedule};
use dgm_core::experiment::DigitModel;
use dgm_core::run::RunContext;
use dgm_core::testing::{
    assert_digit_model_trains, assert_reload_refused, assert_run_written, assert_samples_written,
    few_digits, quick_context, tiny_schedule,
};

const IDF: IdfCommand = IdfCommand { data_init: false };

fn context(name: &str, model: &'static str) -> (RunContext, PathBuf) {
    quick_context(name, CHAPTER, model, 5)
}

/// The quick IDF with `flows` flows of width `hidden`, batches of 8 for `max_epochs` epochs.
fn tiny_idf(hidden: usize, flows: usize, max_epochs: usize) -> IdfConfig {
    let quick = IdfConfig::quick();
    IdfConfig {
        hidden,
        flows,
        schedule: Schedule {
            max_epochs,
            ..tiny_schedule(quick.schedule)
        },
        ..quick
    }
}

#[test]
fn realnvp_runs_reports_and_reloads() {
    let mut config = RealNvpConfig::quick();
    config.flow.hidden = 16;
    config.schedule = tiny_schedule(config.schedule);
    let metrics = [
        "test_nll_dequantized",
        "test_nll_discrete_bound",
        "test_bpd",
    ];
    let run = context("realnvp", "realnvp");
    let report = assert_digit_model_trains(&RealNvpCommand, &config, run, &metrics);
    assert_eq!(report.epochs_run, 2);
}

#[test]
fn idf_runs_reports_and_reloads() {
    let run = context("idf", "idf");
    let report =
        assert_digit_model_trains(&IDF, &tiny_idf(16, 2, 2), run, &["test_nll", "test_bpd"]);
    assert_eq!(report.epochs_run, 2);
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
    assert_run_written(
        &report,
        &dir,
        &[
            "test_nll",
            "latent_mean_max_abs",
            "latent_cov_max_deviation",
        ],
    );
    assert_eq!(report.epochs_run, 2);
    // Points of the plane: 2 values each.
    assert_samples_written(&ctx, 10, 2, |request| MoonsCommand.sample(&ctx, request));
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
    let train = "cargo run --release -p ch03_flows -- idf --quick";
    assert_reload_refused(&IDF, &ctx, &["train the model first", train]);
}

#[test]
fn a_run_of_another_model_is_refused() {
    let (idf_ctx, dir) = context("other", "idf");
    IDF.train(&tiny_idf(8, 1, 1), &few_digits(), &idf_ctx)
        .unwrap();
    let realnvp_ctx = RunContext {
        model: "realnvp",
        ..idf_ctx.clone()
    };
    let reason = "holds a `idf` run, not a `realnvp` run";
    assert_reload_refused(&RealNvpCommand, &realnvp_ctx, &[reason]);
    std::fs::remove_dir_all(&dir).unwrap();
}
