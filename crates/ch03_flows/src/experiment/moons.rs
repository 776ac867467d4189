//! Foster's RealNVP on two moons from start to report: the same coupling layers as the digits
//! model, in two dimensions, where every step of the map can be drawn. Not a digit model, so it
//! writes its own `sample` (a scatter plot) and `bench`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::cli::Command;
use dgm_core::data::{Split, to_host, write_npy};
use dgm_core::experiment::{Bench, DigitSamples, Run, measure, reload};
use dgm_core::metrics::split_mean;
use dgm_core::plot::{RGBColor, ScatterPanel, scatter_panels};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use crate::config::MoonsConfig;
use crate::moons::{MoonsData, distance_from_standard_normal, points};
use crate::realnvp::RealNvp;

/// The 2 x 2 picture: data, data mapped to latent space, latent samples, samples mapped back.
pub const PANELS: &str = "moons.png";
/// The axes of every panel: [-EXTENT, EXTENT]^2 in standardised units.
const EXTENT: f64 = 2.5;
/// Points drawn in each panel.
const PANEL_POINTS: usize = 3000;
const DATA_RED: RGBColor = RGBColor(200, 30, 30);
const MODEL_GREEN: RGBColor = RGBColor(20, 140, 60);

/// Adam with Keras' epsilon (1e-7; burn's default is 1e-5), as the book's notebook.
fn trainer(config: &MoonsConfig, ctx: &RunContext) -> Trainer {
    let adam = AdamConfig::new().with_epsilon(1e-7).init();
    Trainer::new(adam, &config.schedule(), ctx)
}

/// -log p(x) averaged over a set of points, nats per point.
pub fn nll(model: &RealNvp, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
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

/// Foster's RealNVP on two moons on the command line.
pub struct MoonsCommand;

impl Command for MoonsCommand {
    type Config = MoonsConfig;
    type Samples = DigitSamples;

    fn name(&self) -> &'static str {
        "realnvp-moons"
    }

    /// Trains for the book's fixed number of epochs (the checkpoint keeps the best validation
    /// epoch), evaluates on the test points, draws the four panels and writes the report.
    fn train(&self, config: &MoonsConfig, ctx: &RunContext) -> Result<Report> {
        let run = Run::start(ctx, config)?;
        let data = MoonsData::generate(config, ctx.seed);
        let mut trainer = trainer(config, ctx);
        let model = RealNvp::new(&config.flow, trainer.device());
        let fitted = run.fit(
            model,
            &mut trainer,
            &data.train,
            "val_nll",
            |model, x| model.loss(x),
            |model| nll(&model.valid(), &data.val, config.batch_size, &ctx.device),
        )?;

        let best = fitted.best_model.valid();
        let test_nll = nll(&best, &data.test, config.batch_size, &ctx.device);
        let latent = draw_panels(&run.dir.path(PANELS), &best, &data.test, &ctx.device)?;
        let (mean_max_abs, cov_max_deviation) = distance_from_standard_normal(&latent);
        let metrics = [
            ("test_nll", test_nll),
            ("latent_mean_max_abs", mean_max_abs),
            ("latent_cov_max_deviation", cov_max_deviation),
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
        run.finish(&fitted.summary(), best.num_params(), &metrics, &artifacts)
    }

    /// Reloads the best checkpoint and draws `n` points g(z), z ~ N(0, I): a scatter plot at
    /// `--grid` (default `samples-seed<seed>.png` in the run directory) and, when asked, an
    /// `n x 2` `.npy`. Returns the files written.
    fn sample(&self, ctx: &RunContext, request: &DigitSamples) -> Result<Vec<PathBuf>> {
        let n = request.count()?;
        let (run, config, model) = reload(ctx, |config: &MoonsConfig, device| {
            RealNvp::new(&config.flow, device)
        })?;
        let samples = model.sample(n, config.flow.dim, &ctx.device);
        let values = to_host(samples.clone());
        let default = || run.path(&format!("samples-seed{}.png", ctx.seed));
        let plot = request.grid.clone().unwrap_or_else(default);
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
        if let Some(path) = &request.samples_out {
            write_npy(path, &values, &[n, 2])?;
        }
        Ok([Some(plot), request.samples_out.clone()]
            .into_iter()
            .flatten()
            .collect())
    }

    /// Times `passes` training passes (no validation) and drawing the panels' samples.
    fn bench(&self, config: &MoonsConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
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
