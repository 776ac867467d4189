//! Foster's RealNVP on two moons: the same coupling layers as the digits model, in two
//! dimensions, where every step of the map can be drawn.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Split, to_host, two_moons, write_npy};
use dgm_core::experiment::{Bench, Run, Trainer, measure, reload};
use dgm_core::metrics::split_mean;
use dgm_core::plot::{RGBColor, ScatterPanel, scatter_panels};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::MoonsConfig;
use crate::realnvp::RealNvp;

/// This model's subcommand.
pub const MODEL: &str = "realnvp-moons";
/// The 2 x 2 picture: data, data mapped to latent space, latent samples, samples mapped back.
pub const PANELS: &str = "moons.png";
/// The axes of every panel: [-EXTENT, EXTENT]^2 in standardised units.
const EXTENT: f64 = 2.5;
/// Points drawn in each panel.
const PANEL_POINTS: usize = 3000;
const DATA_RED: RGBColor = RGBColor(200, 30, 30);
const MODEL_GREEN: RGBColor = RGBColor(20, 140, 60);

/// Training, validation and test points, standardised with the training set's mean and standard
/// deviation per coordinate (the book's Keras `Normalization` layer).
#[derive(Clone, Debug)]
pub struct MoonsData {
    pub train: Split,
    pub val: Split,
    pub test: Split,
}

impl MoonsData {
    /// Draws the three sets from one seeded generator.
    pub fn generate(config: &MoonsConfig, seed: u64) -> MoonsData {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut train = two_moons(config.points, config.noise, &mut rng);
        let mut val = two_moons(config.eval_points, config.noise, &mut rng);
        let mut test = two_moons(config.eval_points, config.noise, &mut rng);
        let n = train.len() as f64;
        for d in 0..2 {
            let column = || train.pixels.iter().skip(d).step_by(2).map(|&v| v as f64);
            let mean = column().sum::<f64>() / n;
            let std = (column().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            for split in [&mut train, &mut val, &mut test] {
                for v in split.pixels.iter_mut().skip(d).step_by(2) {
                    *v = ((*v as f64 - mean) / std) as f32;
                }
            }
        }
        MoonsData { train, val, test }
    }
}

/// Adam with Keras' epsilon (1e-7; burn's default is 1e-5), as the book's notebook.
fn trainer(config: &MoonsConfig, ctx: &RunContext) -> Trainer {
    let adam = AdamConfig::new().with_epsilon(1e-7).init();
    Trainer::new(adam, config.learning_rate, config.batch_size, ctx)
}

/// -log p(x) averaged over a set of points, nats per point.
pub fn nll(model: &RealNvp, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}

/// Points of a [n, 2] tensor as (x, y) pairs.
fn points(tensor: Tensor<2>) -> Vec<(f64, f64)> {
    to_host(tensor)
        .chunks(2)
        .map(|p| (p[0] as f64, p[1] as f64))
        .collect()
}

/// Mean and covariance of 2-D points.
pub fn moments(points: &[(f64, f64)]) -> ([f64; 2], [[f64; 2]; 2]) {
    let n = points.len() as f64;
    let mean = [
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    ];
    let mut cov = [[0.0; 2]; 2];
    for &(x, y) in points {
        let centred = [x - mean[0], y - mean[1]];
        for i in 0..2 {
            for j in 0..2 {
                cov[i][j] += centred[i] * centred[j] / n;
            }
        }
    }
    (mean, cov)
}

// ANCHOR: panels
/// Draws the book's four panels: X (data), f(X) (data in latent space), Z ~ N(0, I), g(Z)
/// (latent samples mapped back to data space). Returns f(X) of the points drawn.
fn draw_panels(
    path: &Path,
    model: &RealNvp,
    data: &Split,
    device: &Device,
) -> Result<Vec<(f64, f64)>> {
    let n = PANEL_POINTS.min(data.len());
    let indices: Vec<usize> = (0..n).collect();
    let x = data.rows(&indices, device);
    let (f_x, _) = model.forward(x.clone());
    let z = Tensor::<2>::random([n, 2], Distribution::Normal(0.0, 1.0), device);
    let g_z = model.inverse(z.clone());
    let (x, f_x, z, g_z) = (points(x), points(f_x), points(z), points(g_z));
    scatter_panels(
        path,
        &[
            ScatterPanel {
                title: "data X",
                points: &x,
                colour: DATA_RED,
            },
            ScatterPanel {
                title: "f(X) in latent space",
                points: &f_x,
                colour: DATA_RED,
            },
            ScatterPanel {
                title: "Z ~ N(0, I)",
                points: &z,
                colour: MODEL_GREEN,
            },
            ScatterPanel {
                title: "g(Z) in data space",
                points: &g_z,
                colour: MODEL_GREEN,
            },
        ],
        2,
        EXTENT,
    )?;
    Ok(f_x)
}
// ANCHOR_END: panels

/// Trains for the book's fixed number of epochs (the checkpoint keeps the best validation
/// epoch), evaluates on the test points, draws the four panels and writes the report.
pub fn train_and_report(config: &MoonsConfig, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    let data = MoonsData::generate(config, ctx.seed);
    let mut trainer = trainer(config, ctx);
    let model = RealNvp::new(&config.flow, trainer.device());
    let parameters = model.num_params();
    let settings = FitSettings {
        max_epochs: config.epochs,
        patience: config.epochs,
        val_name: "val_nll",
    };
    let fitted = run.fit(
        model,
        &mut trainer,
        &data.train,
        &settings,
        |model, x| model.loss(x),
        |model| nll(&model.valid(), &data.val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_nll = nll(&best, &data.test, config.batch_size, &ctx.device);
    let latent = draw_panels(&run.dir.path(PANELS), &best, &data.test, &ctx.device)?;
    let (mean, cov) = moments(&latent);
    // How far f(X) is from N(0, I): its largest |mean| and largest |covariance - identity|.
    let cov_deviation = (0..2)
        .flat_map(|i| (0..2).map(move |j| (i, j)))
        .map(|(i, j)| (cov[i][j] - if i == j { 1.0 } else { 0.0 }).abs())
        .fold(0.0, f64::max);
    let metrics = [
        ("test_nll", test_nll),
        ("latent_mean_max_abs", mean[0].abs().max(mean[1].abs())),
        ("latent_cov_max_deviation", cov_deviation),
    ];
    let artifacts = [
        ("samples", PANELS),
        ("samples_csv", "moons.csv"),
        ("curve", "curve.png"),
        ("curve_csv", "curve.csv"),
        ("config", "config.json"),
        ("checkpoint", "checkpoint.bpk"),
        ("summary", "summary.txt"),
    ];
    run.finish(ctx, &fitted, parameters, config, &metrics, &artifacts)
}

/// Foster's RealNVP on two moons on the command line.
pub struct MoonsCommand;

impl ModelCommand for MoonsCommand {
    const MODEL: &'static str = MODEL;
    type Config = MoonsConfig;

    fn train(config: &MoonsConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, ctx)
    }

    /// Reloads the best checkpoint and draws `n` points g(z), z ~ N(0, I): a scatter plot at `plot`
    /// (default `samples-seed<seed>.png` in the run directory) and, when asked, an `n x 2` `.npy`.
    fn sample(
        ctx: &RunContext,
        n: usize,
        plot: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, model) = reload(ctx, |config: &MoonsConfig, device| {
            RealNvp::new(&config.flow, device)
        })?;
        let samples = model.sample(n, config.flow.dim, &ctx.device);
        let values = to_host(samples.clone());
        let plot = plot.unwrap_or_else(|| run.path(&format!("samples-seed{}.png", ctx.seed)));
        scatter_panels(
            &plot,
            &[ScatterPanel {
                title: "g(Z) in data space",
                points: &points(samples),
                colour: MODEL_GREEN,
            }],
            1,
            EXTENT,
        )?;
        if let Some(path) = samples_out {
            write_npy(path, &values, &[n, 2])?;
        }
        Ok(plot)
    }

    /// Times `passes` training passes (no validation) and drawing the panels' samples.
    fn bench(config: &MoonsConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let data = MoonsData::generate(config, ctx.seed);
        let mut trainer = trainer(config, ctx);
        let model = RealNvp::new(&config.flow, trainer.device());
        measure(
            ctx,
            model,
            &mut trainer,
            &data.train,
            passes,
            |model, x| model.loss(x),
            |model| {
                to_host(model.valid().sample(PANEL_POINTS, 2, &ctx.device));
            },
        )
    }
}
