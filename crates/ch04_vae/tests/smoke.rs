//! Tiny end-to-end runs: a few steps, a report with every picture, a reload.

use std::path::PathBuf;

use ch04_vae::config::{PriorKind, VaeConfig};
use ch04_vae::experiment::{CHAPTER, VaeCommand};
use dgm_core::experiment::{DigitModel, DigitSamples, sample_digit_model};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::testing::{digit_samples, few_digits, quick_context, tiny_schedule};

/// A quick run's context of `command`, selected by its words (`priors --prior mog`).
fn context(name: &str, command: &VaeCommand) -> (RunContext, PathBuf) {
    let (ctx, dir) = quick_context(name, CHAPTER, command.name(), 2);
    let ctx = RunContext {
        command: command.words(),
        ..ctx
    };
    (ctx, dir)
}

/// The preset of `command` with M = 16, two epochs of batches of 8 and 5 importance samples.
fn tiny(command: &VaeCommand) -> VaeConfig {
    let quick = command.config(true);
    VaeConfig {
        hidden: 16,
        schedule: tiny_schedule(quick.schedule),
        iw_samples: 5,
        ..quick
    }
}

fn check(report: &Report, dir: &std::path::Path) {
    assert_eq!(&Report::read(&dir.join("report.json")).unwrap(), report);
    assert_eq!(report.epochs_run, 2);
    for key in ["test_neg_elbo", "test_nll_iw", "test_bpd"] {
        assert!(report.metrics[key].is_finite(), "{key}");
    }
    for file in report.artifacts.values() {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
}

#[test]
fn the_vae_runs_reports_and_reloads() {
    let vae = VaeCommand::Vae;
    let (ctx, dir) = context("vae", &vae);
    let report = vae.train(&tiny(&vae), &few_digits(), &ctx).unwrap();
    check(&report, &dir);
    assert!(!report.artifacts.contains_key("latent"));
    let written = sample_digit_model(&vae, &ctx, &digit_samples(3)).unwrap();
    assert!(written[0].is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_vampprior_run_draws_its_latent_map() {
    let vamp = VaeCommand::Priors(PriorKind::Vampprior);
    let (ctx, dir) = context("vamp", &vamp);
    let config = tiny(&vamp);
    assert_eq!((config.latent, config.prior), (2, PriorKind::Vampprior));
    let report = vamp.train(&config, &few_digits(), &ctx).unwrap();
    check(&report, &dir);
    assert_eq!(report.artifacts["latent"], "latent.png");
    let npy = dir.join("s.npy");
    let written = sample_digit_model(
        &vamp,
        &ctx,
        &DigitSamples {
            samples_out: Some(npy.clone()),
            ..digit_samples(4)
        },
    )
    .unwrap();
    assert!(written.iter().all(|file| file.is_file()));
    assert_eq!(std::fs::metadata(&npy).unwrap().len(), 128 + 4 * 64 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_prior_is_named_by_its_kind_and_selected_by_its_flag() {
    let mog = VaeCommand::Priors(PriorKind::Mog);
    assert_eq!(mog.name(), "priors-mog");
    assert_eq!(mog.words(), "priors --prior mog");
    assert_eq!(VaeCommand::Vae.words(), "vae");
}

#[test]
fn reloading_without_a_run_names_the_prior_command() {
    let mog = VaeCommand::Priors(PriorKind::Mog);
    let (ctx, _) = context("missing", &mog);
    let err = sample_digit_model(&mog, &ctx, &digit_samples(2))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cargo run --release -p ch04_vae -- priors --prior mog --quick"),
        "{err}"
    );
}
