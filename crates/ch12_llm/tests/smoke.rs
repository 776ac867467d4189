//! A tiny end-to-end run: a few training steps, a report, samples, a reload.

use ch12_llm::config::LlmConfig;
use ch12_llm::experiment::{CHAPTER, MODEL, TeenyGpt};
use ch12_llm::text::{Corpus, read_shakespeare};
use dgm_core::cli::Command;
use dgm_core::config::{Preset, Schedule};
use dgm_core::experiment::TextSamples;
use dgm_core::testing::{assert_run_written, quick_context};

/// One block of width 8, two epochs of three steps on the first 20,000 characters.
fn tiny() -> (LlmConfig, Corpus) {
    let quick = LlmConfig::quick();
    let config = LlmConfig {
        context: 24,
        width: 8,
        heads: 2,
        blocks: 1,
        mlp_hidden: 16,
        schedule: Schedule {
            batch_size: 4,
            max_epochs: 2,
            ..quick.schedule
        },
        steps_per_epoch: 3,
        samples: 1,
        ..quick
    };
    let text: String = read_shakespeare().unwrap().chars().take(20_000).collect();
    let corpus = Corpus::pack(&text, config.context).unwrap();
    (config, corpus)
}

#[test]
fn a_short_run_writes_its_report_samples_and_attention() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, MODEL, 5);
    let (config, corpus) = tiny();
    let report = TeenyGpt.train_on(&config, &corpus, &ctx).unwrap();
    assert_eq!(report.epochs_run, 2);
    assert_run_written(&report, &dir, &["test_nll", "test_bpc", "test_accuracy"]);
    let bpc = report.metrics["test_bpc"];
    assert!((bpc - report.metrics["test_nll"] / std::f64::consts::LN_2).abs() < 1e-12);
    // one text per sampling setting, each a whole window
    let samples = std::fs::read_to_string(dir.join("samples.txt")).unwrap();
    assert_eq!(
        samples.matches("=== temperature").count(),
        config.sampling.len()
    );
    // the attention weights: the start and up to 24 characters of a sample, one row each under
    // a header, with one weight per position in every row
    let csv = std::fs::read_to_string(dir.join("attention.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!((2..=25).contains(&rows.len()), "{csv}");
    for row in &rows {
        let weights = row.rsplitn(rows.len() + 1, ',').take(rows.len());
        assert!(weights.map(str::parse::<f32>).all(|w| w.is_ok()), "{row}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reloading_without_a_run_says_to_train_first() {
    let (ctx, _) = quick_context("missing", CHAPTER, MODEL, 5);
    let request = TextSamples { n: 2, text: None };
    let err = TeenyGpt.sample(&ctx, &request).unwrap_err().to_string();
    assert!(err.contains("train the model first"), "{err}");
}
