//! The compressor on the digits from start to report (with the test set coded to a real
//! bitstream and back), the rate-distortion sweep, and the verbs that reuse a checkpoint.

use std::f64::consts::LN_2;
use std::fmt::Write as _;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::data::{DIGITS_LEVELS, Digits, Split, to_host};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload,
    save_and_score_samples, save_real_digits, write_digit_samples,
};
use dgm_core::images::{DIGITS_GRID, alternate_rows, save_grid};
use dgm_core::metrics::MeanAccumulator;
use dgm_core::plot::line_plot;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::{CurvePoint, FitSettings, Fitted};

use crate::bitstream::{decode_symbols, encode_symbols};
use crate::config::{CompressionConfig, EntropyKind};
use crate::model::{Compressor, objective};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch11_compression";
/// Test images shown with their reconstructions in `reconstructions.png` (4 rows of 8 pairs).
const SHOWN: usize = 32;

/// Adamax with the config's learning rate and batch size.
fn trainer(config: &CompressionConfig, ctx: &RunContext) -> Trainer {
    Trainer::adamax(config.learning_rate, config.batch_size, ctx)
}

/// The metrics of a split.
#[derive(Clone, Copy, Debug)]
pub struct Evaluation {
    /// Mean squared error per pixel on the 0..16 scale.
    pub distortion: f64,
    /// Mean -log q(symbol), nats per symbol.
    pub rate: f64,
}

impl Evaluation {
    /// The book's objective, distortion + beta rate.
    pub fn objective(&self, beta: f64) -> f64 {
        self.distortion + beta * self.rate
    }

    /// PSNR with the peak 16: 10 log10(16^2 / MSE).
    pub fn psnr(&self) -> f64 {
        let peak = (DIGITS_LEVELS - 1) as f64;
        10.0 * (peak * peak / self.distortion).log10()
    }
}

/// Distortion and rate over a split.
pub fn evaluate(
    model: &Compressor,
    split: &Split,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    let (mut distortion, mut rate) = (MeanAccumulator::default(), MeanAccumulator::default());
    for indices in split.batches(batch_size) {
        let pass = model.pass(split.rows(&indices, device));
        distortion.add(&to_host(pass.distortion));
        rate.add(&to_host(pass.rate));
    }
    Evaluation {
        distortion: distortion.mean(),
        rate: rate.mean(),
    }
}

/// What coding the test split to bytes and back gives.
pub struct Coded {
    pub bytes: usize,
    /// The decoded symbols equal the encoded ones, every one.
    pub exact: bool,
}

// ANCHOR: roundtrip
/// Codes the whole split into one rANS stream, decodes it, and compares the symbols.
pub fn code_split(
    model: &Compressor,
    split: &Split,
    code_len: usize,
    device: &Device,
) -> Result<Coded> {
    let all: Vec<usize> = (0..split.len()).collect();
    let symbols = model.encode(split.rows(&all, device));
    let bytes = encode_symbols(model, symbols.clone())?;
    let decoded = decode_symbols(model, &bytes, split.len(), code_len, device)?;
    let exact = symbols.equal(decoded).all().into_scalar::<bool>();
    Ok(Coded {
        bytes: bytes.len(),
        exact,
    })
}
// ANCHOR_END: roundtrip

/// n images decoded from symbols drawn from the entropy model, position by position.
fn sample_digits(model: &Compressor, n: usize, code_len: usize, device: &Device) -> Vec<f32> {
    let mut symbols = Tensor::<2, Int>::zeros([n, code_len], device);
    for position in 0..code_len {
        let probabilities = model
            .entropy
            .probabilities(model.codebook.lookup(symbols.clone()));
        let [_, _, e] = probabilities.dims();
        // [n, C, E] -> [n, 1, E] -> [n, E] -> one draw each [n, 1]
        let drawn = probabilities
            .slice([0..n, position..position + 1, 0..e])
            .reshape([n, e])
            .categorical(1);
        symbols = symbols.slice_assign([0..n, position..position + 1], drawn);
    }
    to_host(model.decode(symbols).clamp(0.0, (DIGITS_LEVELS - 1) as f64))
}

/// `reconstructions.png`: rows of test images, each followed by the row of their
/// reconstructions from the stored symbols.
fn save_reconstructions(
    path: &Path,
    model: &Compressor,
    test: &Split,
    device: &Device,
) -> Result<()> {
    let shown: Vec<usize> = (0..SHOWN.min(test.len())).collect();
    let x = test.rows(&shown, device);
    let originals = to_host(x.clone());
    let reconstructions = to_host(
        model
            .decode(model.encode(x))
            .clamp(0.0, (DIGITS_LEVELS - 1) as f64),
    );
    let columns = DIGITS_GRID.columns;
    let images = alternate_rows(&originals, &reconstructions, columns, test.dim);
    save_grid(path, &images, DIGITS_GRID)
}

/// Everything a finished training run of the compressor reports.
pub struct Trained {
    pub run: Run,
    pub fitted: Fitted<Compressor>,
    pub test: Evaluation,
    pub metrics: Vec<(&'static str, f64)>,
}

/// Trains with early stopping on the validation objective, evaluates the best model on the test
/// split, codes the test split to a bitstream and back, and writes the pictures.
pub fn train_compressor(
    config: &CompressionConfig,
    digits: &Digits,
    ctx: &RunContext,
) -> Result<Trained> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = trainer(config, ctx);
    let model = Compressor::new(config, trainer.device());
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_objective",
    };
    let beta = config.beta;
    let fitted = run.fit(
        model,
        &mut trainer,
        &digits.train,
        &settings,
        |model, x| objective(&model.pass(x), beta),
        |model| {
            evaluate(&model.valid(), &digits.val, config.batch_size, &ctx.device).objective(beta)
        },
    )?;

    let best = fitted.best_model.valid();
    let test = evaluate(&best, &digits.test, config.batch_size, &ctx.device);
    let coded = code_split(&best, &digits.test, config.code_len, &ctx.device)?;
    let samples = sample_digits(&best, SAMPLES, config.code_len, &ctx.device);
    save_reconstructions(
        &run.dir.path("reconstructions.png"),
        &best,
        &digits.test,
        &ctx.device,
    )?;
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
    // bits per image = C rate / ln 2; bits per pixel = that / D
    let rate_bits = config.code_len as f64 * test.rate / LN_2;
    let stream_bits = 8.0 * coded.bytes as f64 / digits.test.len() as f64;
    let metrics = vec![
        ("test_objective", test.objective(beta)),
        ("test_distortion", test.distortion),
        ("test_psnr", test.psnr()),
        ("test_rate", test.rate),
        ("rate_bits_per_image", rate_bits),
        ("rate_bits_per_pixel", rate_bits / config.dim as f64),
        ("bitstream_bits_per_image", stream_bits),
        (
            "bitstream_roundtrip_exact",
            f64::from(u8::from(coded.exact)),
        ),
        fd,
        confidence,
    ];
    Ok(Trained {
        run,
        fitted,
        test,
        metrics,
    })
}

/// Trains, codes and writes the report of one compressor.
pub fn train_and_report(
    config: &CompressionConfig,
    digits: &Digits,
    ctx: &RunContext,
) -> Result<Report> {
    let trained = train_compressor(config, digits, ctx)?;
    let parameters = trained.fitted.best_model.parameters();
    let mut artifacts = DIGIT_ARTIFACTS.to_vec();
    artifacts.push(("reconstructions", "reconstructions.png"));
    trained.run.finish(
        ctx,
        &trained.fitted,
        parameters,
        config,
        &trained.metrics,
        &artifacts,
    )
}

/// The entropy model a command trains with.
pub trait EntropyChoice {
    const KIND: EntropyKind;
    const MODEL: &'static str;
}

/// The autoregressive entropy model (the book's).
pub struct Arm;
/// Independent categoricals.
pub struct Indp;
/// The uniform code.
pub struct Uniform;

impl EntropyChoice for Arm {
    const KIND: EntropyKind = EntropyKind::Arm;
    const MODEL: &'static str = "arm";
}

impl EntropyChoice for Indp {
    const KIND: EntropyKind = EntropyKind::Indp;
    const MODEL: &'static str = "indp";
}

impl EntropyChoice for Uniform {
    const KIND: EntropyKind = EntropyKind::Uniform;
    const MODEL: &'static str = "uniform";
}

/// The compressor with the entropy model `E` on the command line.
pub struct CompressionCommand<E>(PhantomData<E>);

impl<E: EntropyChoice> ModelCommand for CompressionCommand<E> {
    const MODEL: &'static str = E::MODEL;
    type Config = CompressionConfig;

    fn preset(quick: bool) -> CompressionConfig {
        let config = if quick {
            CompressionConfig::quick()
        } else {
            CompressionConfig::full()
        };
        config.with_entropy(E::KIND)
    }

    fn train(config: &CompressionConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and decodes `n` images from symbols drawn
    /// from its entropy model.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, model) = reload(ctx, Compressor::new)?;
        let config: CompressionConfig = config;
        let samples = sample_digits(&model, n, config.code_len, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &CompressionConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = trainer(config, ctx);
        let model = Compressor::new(config, trainer.device());
        let beta = config.beta;
        measure(
            ctx,
            model,
            &mut trainer,
            &digits.train,
            passes,
            |model, x| objective(&model.pass(x), beta),
            |model| {
                sample_digits(&model.valid(), GRID_IMAGES, config.code_len, &ctx.device);
            },
        )
    }
}

// ANCHOR: sweep
/// The rates' weights of the rate-distortion sweep.
pub const SWEEP_BETAS: [f64; 5] = [1.0, 4.0, 16.0, 64.0, 256.0];

/// The rate-distortion sweep (`rate-distortion`): the book's compressor trained once per beta
/// in [`SWEEP_BETAS`], each in its own directory `beta-<beta>` inside the run's, then
/// `rate_distortion.png` and `.csv`: test distortion against coded bits per pixel.
pub struct RateDistortionCommand;

impl ModelCommand for RateDistortionCommand {
    const MODEL: &'static str = "rate-distortion";
    type Config = CompressionConfig;

    fn train(config: &CompressionConfig, ctx: &RunContext) -> Result<Report> {
        let digits = Digits::load()?;
        let run = Run::start(ctx, config)?;
        let mut points = Vec::new();
        let mut curve = Vec::new();
        let mut csv = String::from(
            "beta,test_distortion,test_psnr,rate_bits_per_pixel,bitstream_bits_per_pixel,epochs\n",
        );
        for beta in SWEEP_BETAS {
            // Each point is a run of `arm` of its own, started from the same seed.
            let mut sub = ctx.clone();
            sub.model = Arm::MODEL;
            sub.command = Arm::MODEL;
            sub.out_dir = ctx.out_dir.join(format!("beta-{beta}"));
            sub.report_path = sub.out_dir.join("report.json");
            sub.device.seed(ctx.seed);
            let config = CompressionConfig {
                beta,
                ..config.clone()
            };
            let report = train_and_report(&config, &digits, &sub)?;
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
            curve.push(CurvePoint {
                epoch: curve.len(),
                train_loss: metric("test_objective"),
                val_metric: distortion,
                train_seconds: report.s_per_epoch,
            });
        }
        std::fs::write(run.dir.path("rate_distortion.csv"), csv)?;
        line_plot(
            &run.dir.path("rate_distortion.png"),
            "rate and distortion on the test digits, one point per beta",
            "coded bits per pixel",
            "mean squared error per pixel",
            &[("autoregressive entropy model", &points)],
        )?;
        // The report lists every beta's point; its validation fields follow the distortion.
        let mut metrics: Vec<(String, f64)> = Vec::new();
        for (beta, (bpp, distortion)) in SWEEP_BETAS.iter().zip(&points) {
            metrics.push((format!("distortion_beta_{beta}"), *distortion));
            metrics.push((format!("bitstream_bits_per_pixel_beta_{beta}"), *bpp));
        }
        let metrics: Vec<(&str, f64)> = metrics.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let fitted = Fitted {
            best_model: (),
            best_epoch: 0,
            best_val: points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
            val_name: "test_distortion",
            curve,
        };
        let artifacts = [
            ("rate_distortion", "rate_distortion.png"),
            ("rate_distortion_csv", "rate_distortion.csv"),
            ("config", "config.json"),
            ("summary", "summary.txt"),
        ];
        run.finish(ctx, &fitted, 0, config, &metrics, &artifacts)
    }

    fn sample(
        _ctx: &RunContext,
        _n: usize,
        _grid: Option<PathBuf>,
        _samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        anyhow::bail!(
            "the sweep has no single model to sample; sample one of its runs with `arm sample --out <run>/beta-<beta>`"
        )
    }

    /// The sweep trains the `arm` model: its training pass.
    fn bench(config: &CompressionConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        CompressionCommand::<Arm>::bench(config, ctx, passes)
    }
}
// ANCHOR_END: sweep
