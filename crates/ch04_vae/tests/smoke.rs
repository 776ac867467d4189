//! Tiny end-to-end runs: a few steps, a report with every picture, a reload.

use std::path::PathBuf;

use ch04_vae::config::{PriorKind, VaeConfig};
use ch04_vae::experiments::CHAPTER;
use ch04_vae::experiments::vae::{PriorsCommand, VaeCommand, Vampprior, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::testing::{few_digits, quick_context};

fn context(name: &str, model: &'static str, command: &'static str) -> (RunContext, PathBuf) {
    let (ctx, dir) = quick_context(name, CHAPTER, model, 2);
    (ctx.with_command(command), dir)
}

fn tiny(prior: PriorKind) -> VaeConfig {
    let config = VaeConfig {
        hidden: 16,
        batch_size: 8,
        max_epochs: 2,
        iw_samples: 5,
        ..VaeConfig::quick()
    };
    if prior == PriorKind::Standard {
        config
    } else {
        config.with_prior(prior)
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
    let (ctx, dir) = context("vae", "vae", "vae");
    let report = train_and_report(&tiny(PriorKind::Standard), &few_digits(), &ctx).unwrap();
    check(&report, &dir);
    assert!(!report.artifacts.contains_key("latent"));
    assert!(VaeCommand::sample(&ctx, 3, None, None).unwrap().is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_vampprior_run_draws_its_latent_map() {
    let (ctx, dir) = context("vamp", "priors-vampprior", "priors --prior vampprior");
    let report = train_and_report(&tiny(PriorKind::Vampprior), &few_digits(), &ctx).unwrap();
    check(&report, &dir);
    assert_eq!(report.artifacts["latent"], "latent.png");
    let npy = dir.join("s.npy");
    assert!(
        PriorsCommand::<Vampprior>::sample(&ctx, 4, None, Some(&npy))
            .unwrap()
            .is_file()
    );
    assert_eq!(std::fs::metadata(&npy).unwrap().len(), 128 + 4 * 64 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reloading_without_a_run_names_the_prior_command() {
    let (ctx, _) = context("missing", "priors-mog", "priors --prior mog");
    let err = PriorsCommand::<ch04_vae::experiments::vae::Mog>::sample(&ctx, 2, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cargo run --release -p ch04_vae -- priors --prior mog --quick"),
        "{err}"
    );
}
