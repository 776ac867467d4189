//! The GAN's learning curve: per epoch, both players' mean training losses and the score of
//! 1000 samples, written as `curve.csv`, `curve.png` and `fd.png`, and summarised for the report.
//! A GAN has no validation likelihood, so this takes the place of the curve of
//! `dgm_core::train::fit`.

use std::f64::consts::LN_2;
use std::fmt::Write as _;

use anyhow::Result;
use dgm_core::plot::line_plot;
use dgm_core::report::{TrainingSummary, Validation};
use dgm_core::run::RunDir;
use dgm_core::train::median;
use serde::{Deserialize, Serialize};

use crate::gan::Losses;

/// One row of the GAN's curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GanPoint {
    pub losses: Losses,
    /// The score of 1000 samples after the epoch.
    pub sample_fd: f64,
    /// Seconds of the training pass alone.
    pub train_seconds: f64,
}

/// `curve.csv`, `curve.png` (both training losses beside their equilibrium values) and
/// `fd.png` (the sample score after every epoch).
pub fn save_gan_curve(run: &RunDir, curve: &[GanPoint]) -> Result<()> {
    let mut csv = String::from("epoch,discriminator_loss,generator_loss,sample_fd,train_seconds\n");
    for (epoch, p) in curve.iter().enumerate() {
        writeln!(
            csv,
            "{epoch},{},{},{},{}",
            p.losses.discriminator, p.losses.generator, p.sample_fd, p.train_seconds
        )?;
    }
    std::fs::write(run.path("curve.csv"), csv)?;
    let series = |f: &dyn Fn(&GanPoint) -> f64| -> Vec<(f64, f64)> {
        curve
            .iter()
            .enumerate()
            .map(|(e, p)| (e as f64, f(p)))
            .collect()
    };
    let last = curve.len().saturating_sub(1) as f64;
    let flat = |v: f64| vec![(0.0, v), (last, v)];
    let (dis, gen_) = (
        series(&|p| p.losses.discriminator),
        series(&|p| p.losses.generator),
    );
    // ln 4 = 2 ln 2
    let (ln4, minus_ln2) = (flat(2.0 * LN_2), flat(-LN_2));
    line_plot(
        &run.path("curve.png"),
        "training losses",
        "epoch",
        "nats",
        &[
            ("discriminator", &dis),
            ("generator", &gen_),
            ("ln 4 (D = 1/2)", &ln4),
            ("-ln 2 (D = 1/2)", &minus_ln2),
        ],
    )?;
    let fd = series(&|p| p.sample_fd);
    line_plot(
        &run.path("fd.png"),
        "sample quality after each epoch",
        "epoch",
        "sample_fd",
        &[("sample_fd (1000 samples)", &fd)],
    )
}

/// What the report says of the GAN's training: every epoch ran and the last players are kept;
/// the validation fields follow the sample score from the first epoch to the last.
pub fn summary(curve: &[GanPoint]) -> TrainingSummary {
    TrainingSummary {
        trainings: 1,
        epochs_run: curve.len(),
        best_epoch: curve.len() - 1,
        s_per_epoch: median(curve.iter().map(|p| p.train_seconds).collect()),
        validation: Validation {
            metric: "sample_fd".into(),
            first: curve.first().map_or(f64::NAN, |p| p.sample_fd),
            best: curve.last().map_or(f64::NAN, |p| p.sample_fd),
        },
    }
}
