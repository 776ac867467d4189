//! A tiny end-to-end run: five training steps, a report, a reload.

use ch02_arm::config::ArmConfig;
use ch02_arm::experiment::CHAPTER;
use ch02_arm::experiment::causal_conv::CausalConv;
use dgm_core::config::Preset;
use dgm_core::experiment::DigitModel;
use dgm_core::testing::{
    assert_digit_model_trains, assert_reload_refused, few_digits, quick_context, tiny_schedule,
};

const MODEL: &str = "causal-conv";

/// 8 channels and two epochs of batches of 8: on [`few_digits`], five steps an epoch.
fn tiny() -> ArmConfig {
    let quick = ArmConfig::quick();
    ArmConfig {
        channels: 8,
        schedule: tiny_schedule(quick.schedule),
        ..quick
    }
}

#[test]
fn a_short_run_writes_its_report_and_can_be_reloaded() {
    let run = quick_context("smoke", CHAPTER, MODEL, 3);
    let report = assert_digit_model_trains(&CausalConv, &tiny(), run, &["test_nll"]);
    assert_eq!(report.epochs_run, 2);
    let nll = report.metrics["test_nll"];
    assert!(nll > 0.0, "test_nll {nll}");
}

#[test]
fn reloading_without_a_run_says_to_train_first() {
    let (ctx, _) = quick_context("missing", CHAPTER, MODEL, 3);
    let train = "cargo run --release -p ch02_arm -- causal-conv --quick";
    assert_reload_refused(&CausalConv, &ctx, &["train the model first", train]);
}

#[test]
fn a_checkpoint_of_another_size_is_refused_with_a_message() {
    let (ctx, dir) = quick_context("mismatch", CHAPTER, MODEL, 3);
    let config = tiny();
    let config = ArmConfig {
        schedule: config.schedule.with_epochs(1, 0),
        ..config
    };
    CausalConv.train(&config, &few_digits(), &ctx).unwrap();
    // Pretend the run was made with 16 channels: the checkpoint no longer fits.
    let wider = ArmConfig {
        channels: 16,
        ..config
    };
    let tagged = serde_json::json!({ "model": MODEL, "config": wider });
    std::fs::write(dir.join("config.json"), tagged.to_string()).unwrap();
    assert_reload_refused(&CausalConv, &ctx, &["does not fit this model"]);
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
    use dgm_core::transformer::Architecture;

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
            architecture: Architecture {
                width: 8,
                heads: 2,
                head_width: 4,
                blocks: 1,
                mlp_hidden: 16,
                ..full.architecture
            },
            schedule: tiny_schedule(full.schedule),
            samples: 5,
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
