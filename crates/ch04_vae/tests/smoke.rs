//! Tiny end-to-end runs: a few steps, a report with every picture, a reload.

use std::path::PathBuf;

use ch04_vae::config::{PriorKind, VaeConfig};
use ch04_vae::experiment::{CHAPTER, VaeCommand};
use dgm_core::experiment::DigitModel;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::testing::{
    assert_digit_model_trains, assert_reload_refused, quick_context, tiny_schedule,
};

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

/// Trains `config` for `command` in a fresh run named `name` and checks it as
/// [`assert_digit_model_trains`] does, with the negative ELBO, the importance-weighted NLL and
/// the bits per dimension finite; both epochs must run. Returns the report.
fn assert_vae_trains(command: &VaeCommand, config: &VaeConfig, name: &str) -> Report {
    let metrics = ["test_neg_elbo", "test_nll_iw", "test_bpd"];
    let report = assert_digit_model_trains(command, config, context(name, command), &metrics);
    assert_eq!(report.epochs_run, 2);
    report
}

#[test]
fn the_vae_runs_reports_and_reloads() {
    let vae = VaeCommand::Vae;
    let report = assert_vae_trains(&vae, &tiny(&vae), "vae");
    assert!(!report.artifacts.contains_key("latent"));
}

#[test]
fn the_vampprior_run_draws_its_latent_map() {
    let vamp = VaeCommand::Priors(PriorKind::Vampprior);
    let config = tiny(&vamp);
    assert_eq!((config.latent, config.prior), (2, PriorKind::Vampprior));
    let report = assert_vae_trains(&vamp, &config, "vamp");
    assert_eq!(report.artifacts["latent"], "latent.png");
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
    let train = "cargo run --release -p ch04_vae -- priors --prior mog --quick";
    assert_reload_refused(&mog, &ctx, &["train the model first", train]);
}
