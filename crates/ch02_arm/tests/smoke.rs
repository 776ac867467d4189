//! A tiny end-to-end run: five training steps, a report, a reload.

use ch02_arm::config::ArmConfig;
use ch02_arm::experiment::CHAPTER;
use ch02_arm::experiment::causal_conv::CausalConv;
use dgm_core::config::Preset;
use dgm_core::data::Digits;
use dgm_core::experiment::{DigitModel, DigitSamples, sample_digit_model};
use dgm_core::report::Report;
use dgm_core::testing::{digit_samples, few_digits, quick_context, tiny_schedule};

const MODEL: &str = "causal-conv";

/// Two epochs of five steps of 8 images each; validation and test on 16 images.
fn tiny_run() -> (ArmConfig, Digits) {
    let quick = ArmConfig::quick();
    let config = ArmConfig {
        channels: 8,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    };
    (config, few_digits())
}

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let (ctx, dir) = quick_context("smoke", CHAPTER, MODEL, 3);
    let (config, digits) = tiny_run();
    let report = CausalConv.train(&config, &digits, &ctx).unwrap();

    let written = Report::read(&dir.join("report.json")).unwrap();
    assert_eq!(written, report);
    assert_eq!(report.epochs_run, 2);
    let nll = report.metrics["test_nll"];
    assert!(nll.is_finite() && nll > 0.0, "test_nll {nll}");
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }

    let npy = dir.join("s.npy");
    let written = sample_digit_model(
        &CausalConv,
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
fn reloading_without_a_run_says_to_train_first() {
    let (ctx, _) = quick_context("missing", CHAPTER, MODEL, 3);
    let err = sample_digit_model(&CausalConv, &ctx, &digit_samples(4))
        .unwrap_err()
        .to_string();
    assert!(err.contains("train the model first"), "{err}");
    assert!(
        err.contains("cargo run --release -p ch02_arm -- causal-conv --quick"),
        "{err}"
    );
}

#[test]
fn a_checkpoint_of_another_size_is_refused_with_a_message() {
    let (ctx, dir) = quick_context("mismatch", CHAPTER, MODEL, 3);
    let (config, digits) = tiny_run();
    let config = ArmConfig {
        schedule: config.schedule.with_epochs(1, 0),
        ..config
    };
    CausalConv.train(&config, &digits, &ctx).unwrap();
    // Pretend the run was made with 16 channels: the checkpoint no longer fits.
    let wider = ArmConfig {
        channels: 16,
        ..config
    };
    let tagged = serde_json::json!({ "model": MODEL, "config": wider });
    std::fs::write(dir.join("config.json"), tagged.to_string()).unwrap();
    let err = sample_digit_model(&CausalConv, &ctx, &digit_samples(2))
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not fit this model"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

mod transformer {
    use ch02_arm::config::TransformerConfig;
    use ch02_arm::experiment::CHAPTER;
    use ch02_arm::experiment::transformer::{MODEL, SmilesTransformer};
    use ch02_arm::molecules::{Molecules, Selection};
    use dgm_core::cli::Command;
    use dgm_core::config::Preset;
    use dgm_core::experiment::TextSamples;
    use dgm_core::testing::{assert_run_written, quick_context, tiny_schedule};

    /// One block of width 8 on 60 molecules, two epochs, five generated molecules.
    fn tiny() -> TransformerConfig {
        let full = TransformerConfig::full();
        TransformerConfig {
            selection: Selection {
                molecules: 60,
                train: 40,
                val: 10,
                ..full.selection
            },
            width: 8,
            heads: 2,
            head_width: 4,
            blocks: 1,
            mlp_hidden: 16,
            schedule: tiny_schedule(full.schedule),
            samples: 5,
            ..full
        }
    }

    #[test]
    fn a_short_run_writes_its_molecules_and_can_be_reloaded() {
        let (ctx, dir) = quick_context("transformer", CHAPTER, MODEL, 3);
        let config = tiny();
        let report = SmilesTransformer.train(&config, &ctx).unwrap();
        assert_eq!(report.epochs_run, 2);
        assert_run_written(
            &report,
            &dir,
            &[
                "test_nll",
                "test_accuracy",
                "validity",
                "uniqueness",
                "novelty",
            ],
        );
        let written = std::fs::read_to_string(dir.join("molecules.txt")).unwrap();
        assert_eq!(written.lines().count(), 5);

        let request = TextSamples { n: 7, text: None };
        let written = SmilesTransformer.sample(&ctx, &request).unwrap();
        let lines = std::fs::read_to_string(&written[0]).unwrap();
        assert_eq!(lines.lines().count(), 7);
        assert!(
            lines
                .lines()
                .all(|l| l.starts_with("ok ") || l.starts_with("-- "))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn asking_for_more_molecules_than_the_file_holds_is_an_error() {
        let selection = Selection {
            molecules: 1_000_000,
            ..TransformerConfig::quick().selection
        };
        let err = Molecules::load(&selection).err().unwrap().to_string();
        assert!(err.contains("holds 176074 molecules"), "{err}");
    }
}
