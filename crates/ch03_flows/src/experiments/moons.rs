//! Foster's RealNVP on two moons: the same coupling layers as the digits model, in two
//! dimensions, where every step of the map can be drawn.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::data::{Split, to_host, two_moons, write_npy};
use dgm_core::experiment::{Bench, add_artifacts, time_training};
use dgm_core::metrics::split_mean;
use dgm_core::plot::{RGBColor, ScatterPanel, scatter_panels};
use dgm_core::report::Report;
use dgm_core::run::{RunContext, RunDir};
use dgm_core::train::{FitSettings, fit, train_epoch};
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

/// One pass over the shuffled training points.
fn train_moons_epoch(
    model: RealNvp,
    optimizer: &mut ModuleOptimizer,
    data: &MoonsData,
    config: &MoonsConfig,
    rng: &mut StdRng,
    epoch: usize,
    device: &Device,
) -> Result<(RealNvp, f64)> {
    let batches = data
        .train
        .shuffled_batches(config.batch_size, rng)
        .into_iter()
        .map(|indices| data.train.rows(&indices, device));
    train_epoch(
        model,
        optimizer,
        config.learning_rate,
        batches,
        epoch,
        |model, x| model.loss(x),
    )
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
    let start = Instant::now();
    let run = RunDir::create(&ctx.out_dir)?;
    run.write_config(MODEL, config)?;
    let data = MoonsData::generate(config, ctx.seed);

    let train_device = ctx.device.clone().autodiff();
    let model = RealNvp::new(&config.flow, &train_device);
    let parameters = model.num_params();
    // Keras' Adam: epsilon 1e-7.
    let mut optimizer = AdamConfig::new().with_epsilon(1e-7).init();
    let mut rng = StdRng::seed_from_u64(ctx.seed);
    let settings = FitSettings {
        max_epochs: config.epochs,
        patience: config.epochs,
        val_name: "val_nll",
    };
    let fitted = fit(
        model,
        &settings,
        &run,
        |model, epoch| {
            train_moons_epoch(
                model,
                &mut optimizer,
                &data,
                config,
                &mut rng,
                epoch,
                &train_device,
            )
        },
        |model| nll(&model.valid(), &data.val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_nll = nll(&best, &data.test, config.batch_size, &ctx.device);
    let latent = draw_panels(&run.path(PANELS), &best, &data.test, &ctx.device)?;
    let (mean, cov) = moments(&latent);

    let mut report = ctx.report(&fitted, parameters, start.elapsed().as_secs_f64(), config)?;
    report.metrics.insert("test_nll".into(), test_nll);
    // How far f(X) is from N(0, I): its largest |mean| and largest |covariance - identity|.
    report.metrics.insert(
        "latent_mean_max_abs".into(),
        mean[0].abs().max(mean[1].abs()),
    );
    let cov_dev = (0..2)
        .flat_map(|i| (0..2).map(move |j| (i, j)))
        .map(|(i, j)| (cov[i][j] - if i == j { 1.0 } else { 0.0 }).abs())
        .fold(0.0, f64::max);
    report
        .metrics
        .insert("latent_cov_max_deviation".into(), cov_dev);
    add_artifacts(
        &mut report,
        &[
            ("samples", PANELS),
            ("samples_csv", "moons.csv"),
            ("curve", "curve.png"),
            ("curve_csv", "curve.csv"),
            ("config", "config.json"),
            ("checkpoint", "checkpoint.bpk"),
            ("summary", "summary.txt"),
        ],
    );
    ctx.write_report(&report)?;
    Ok(report)
}

/// Reloads the best checkpoint and draws `n` points g(z), z ~ N(0, I): a scatter plot at `plot`
/// (default `samples-seed<seed>.png` in the run directory) and, when asked, an `n x 2` `.npy`.
pub fn sample_from_checkpoint(
    ctx: &RunContext,
    n: usize,
    plot: Option<PathBuf>,
    samples_out: Option<&Path>,
) -> Result<PathBuf> {
    anyhow::ensure!(n > 0, "--n must be at least 1");
    let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
    let config: MoonsConfig = run.read_config(MODEL)?;
    let model = run.load_checkpoint(RealNvp::new(&config.flow, &ctx.device))?;
    let samples = model.sample(n, 2, &ctx.device);
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

/// Times `passes` training passes (no validation) and drawing the four panels' samples.
pub fn bench(config: &MoonsConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
    let data = MoonsData::generate(config, ctx.seed);
    let train_device = ctx.device.clone().autodiff();
    let model = RealNvp::new(&config.flow, &train_device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-7).init();
    let mut rng = StdRng::seed_from_u64(ctx.seed);
    let (model, s_per_epoch) = time_training(model, passes, |model, pass| {
        train_moons_epoch(
            model,
            &mut optimizer,
            &data,
            config,
            &mut rng,
            pass,
            &train_device,
        )
    })?;
    let start = Instant::now();
    to_host(model.valid().sample(PANEL_POINTS, 2, &ctx.device));
    Ok(Bench::new(ctx, s_per_epoch, start.elapsed().as_secs_f64()))
}
