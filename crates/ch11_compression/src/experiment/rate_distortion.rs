//! The rate-distortion sweep (`rate-distortion`): the book's compressor trained once per rate
//! weight beta, and the curve of test distortion against coded bits per pixel the runs trace.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use dgm_core::cli::Command;
use dgm_core::data::Digits;
use dgm_core::experiment::{Bench, DigitModel, DigitSamples, Run, bench_digit_model};
use dgm_core::plot::line_plot;
use dgm_core::report::{Report, TrainingSummary, Validation};
use dgm_core::run::RunContext;
use dgm_core::train::median;

use super::compressor::CompressionCommand;
use crate::config::{CompressionConfig, EntropyKind};

// ANCHOR: sweep
/// The rates' weights of the rate-distortion sweep.
pub const SWEEP_BETAS: [f64; 5] = [1.0, 4.0, 16.0, 64.0, 256.0];

/// The compressor the sweep trains at every beta: the book's, with the autoregressive entropy
/// model.
const ARM: CompressionCommand = CompressionCommand(EntropyKind::Arm);

/// The rate-distortion sweep (`rate-distortion`): the book's compressor trained once per beta
/// in [`SWEEP_BETAS`], each in its own directory `beta-<beta>` inside the run's, then
/// `rate_distortion.png` and `.csv`: test distortion against coded bits per pixel.
pub struct RateDistortionCommand;

impl Command for RateDistortionCommand {
    type Config = CompressionConfig;
    type Samples = DigitSamples;

    fn name(&self) -> &'static str {
        "rate-distortion"
    }

    fn train(&self, config: &CompressionConfig, ctx: &RunContext) -> Result<Report> {
        let digits = Digits::load()?;
        let run = Run::start(ctx, config)?;
        let (mut points, mut seconds) = (Vec::new(), Vec::new());
        let (mut epochs, mut parameters) = (0, 0);
        let mut csv = String::from(
            "beta,test_distortion,test_psnr,rate_bits_per_pixel,bitstream_bits_per_pixel,epochs\n",
        );
        for beta in SWEEP_BETAS {
            // Each point is a run of `arm` of its own, started from the same seed.
            let mut sub = ctx.clone();
            sub.model = DigitModel::name(&ARM);
            sub.command = sub.model.into();
            sub.out_dir = ctx.out_dir.join(format!("beta-{beta}"));
            sub.report_path = sub.out_dir.join("report.json");
            // A resumed sweep continues the points it had started and starts the others.
            sub.resume = ctx.resume && sub.out_dir.join("config.json").is_file();
            sub.device.seed(ctx.seed);
            let config = CompressionConfig {
                beta,
                ..config.clone()
            };
            let report = DigitModel::train(&ARM, &config, &digits, &sub)?;
            let metric = |key: &str| report.metrics[key];
            let (distortion, stream_bpp) = (
                metric("test_distortion"),
                metric("bitstream_bits_per_image") / config.dim as f64,
            );
            writeln!(
                csv,
                "{beta},{distortion},{},{},{stream_bpp},{}",
                metric("test_psnr"),
                metric("rate_bits_per_pixel"),
                report.epochs_run
            )?;
            points.push((stream_bpp, distortion));
            seconds.push(report.s_per_epoch);
            epochs += report.epochs_run;
            parameters = report.parameters;
        }
        std::fs::write(run.dir.path("rate_distortion.csv"), csv)?;
        line_plot(
            &run.dir.path("rate_distortion.png"),
            "rate and distortion on the test digits, one point per beta",
            "coded bits per pixel",
            "mean squared error per pixel",
            &[("autoregressive entropy model", &points)],
        )?;
        // The report lists every beta's point and counts the trainings' epochs; each training's
        // own curve and validation are in its beta-<beta>/report.json. Every beta trains the same
        // compressor, with the same number of parameters.
        let mut metrics: Vec<(String, f64)> = Vec::new();
        for (beta, (bpp, distortion)) in SWEEP_BETAS.iter().zip(&points) {
            metrics.push((format!("distortion_beta_{beta}"), *distortion));
            metrics.push((format!("bitstream_bits_per_pixel_beta_{beta}"), *bpp));
        }
        let metrics: Vec<(&str, f64)> = metrics.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let training = TrainingSummary {
            trainings: points.len(),
            epochs_run: epochs,
            best_epoch: 0,
            s_per_epoch: median(seconds),
            validation: Validation {
                metric: "test_distortion".into(),
                first: points.first().map_or(f64::NAN, |p| p.1),
                best: points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
            },
        };
        let artifacts = [
            ("rate_distortion", "rate_distortion.png"),
            ("rate_distortion_csv", "rate_distortion.csv"),
            ("config", "config.json"),
            ("summary", "summary.txt"),
        ];
        run.finish(&training, parameters, &metrics, &artifacts)
    }

    fn sample(&self, _: &RunContext, _: &DigitSamples) -> Result<Vec<PathBuf>> {
        anyhow::bail!(
            "the sweep has no single model to sample; sample one of its runs with `arm sample --out <run>/beta-<beta>`"
        )
    }

    /// The sweep trains the `arm` model: its training pass.
    fn bench(&self, config: &CompressionConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        bench_digit_model(&ARM, config, ctx, passes)
    }
}
// ANCHOR_END: sweep
