//! The compressor from start to report: early stopping on the validation objective, the test
//! split's distortion and rate, the test split coded to a real rANS bitstream and back, the
//! reconstructions and samples decoded from symbols the entropy model draws.

use std::f64::consts::LN_2;
use std::path::Path;

use anyhow::Result;
use burn::prelude::*;
use dgm_core::config::Preset;
use dgm_core::data::{DIGITS_LEVELS, Digits, Split, to_host};
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, SAMPLES, fit_digits};
use dgm_core::images::{DIGITS_GRID, alternate_rows, save_grid};
use dgm_core::metrics::MeanAccumulator;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use crate::bitstream::code_split;
use crate::compressor::{Compressor, objective};
use crate::config::{CompressionConfig, EntropyKind};

/// Test images shown with their reconstructions in `reconstructions.png` (4 rows of 8 pairs).
const SHOWN: usize = 32;

/// How well the compressor does on a split.
#[derive(Clone, Copy, Debug)]
pub struct Scores {
    /// Mean squared error per pixel on the 0..16 scale.
    pub distortion: f64,
    /// Mean -log q(symbol), nats per symbol.
    pub rate: f64,
}

impl Scores {
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
pub fn evaluate(model: &Compressor, split: &Split, batch_size: usize, device: &Device) -> Scores {
    let (mut distortion, mut rate) = (MeanAccumulator::default(), MeanAccumulator::default());
    for indices in split.batches(batch_size) {
        let pass = model.pass(split.rows(&indices, device));
        distortion.add(&to_host(pass.distortion));
        rate.add(&to_host(pass.rate));
    }
    Scores {
        distortion: distortion.mean(),
        rate: rate.mean(),
    }
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

/// The compressor with one of its entropy models on the command line: `arm` (the book's),
/// `indp` or `uniform`.
pub struct CompressionCommand(pub EntropyKind);

impl DigitModel for CompressionCommand {
    type Config = CompressionConfig;
    type Network = Compressor;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        match self.0 {
            EntropyKind::Arm => "arm",
            EntropyKind::Indp => "indp",
            EntropyKind::Uniform => "uniform",
        }
    }

    /// The preset with this command's entropy model.
    fn config(&self, quick: bool) -> CompressionConfig {
        CompressionConfig::preset(quick).with_entropy(self.0)
    }

    fn build(&self, config: &CompressionConfig, device: &Device) -> Compressor {
        Compressor::new(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &CompressionConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    fn loss(&self, config: &CompressionConfig, model: &Compressor, x: Tensor<2>) -> Tensor<1> {
        objective(&model.pass(x), config.beta)
    }

    /// Symbols drawn from the entropy model position by position, then decoded.
    fn generate(
        &self,
        config: &CompressionConfig,
        model: &Compressor,
        n: usize,
        device: &Device,
    ) -> Tensor<2> {
        let code_len = config.code_len;
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
        model.decode(symbols).clamp(0.0, (DIGITS_LEVELS - 1) as f64)
    }

    /// Trains with early stopping on the validation objective, evaluates the best model on the
    /// test split, codes the test split to a bitstream and back, and writes every output.
    fn train(
        &self,
        config: &CompressionConfig,
        digits: &Digits,
        ctx: &RunContext,
    ) -> Result<Report> {
        let (beta, batch) = (config.beta, config.schedule.batch_size);
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_objective", |model| {
            evaluate(&model.valid(), &digits.val, batch, &ctx.device).objective(beta)
        })?;

        let best = fitted.best_model.valid();
        let test = evaluate(&best, &digits.test, batch, &ctx.device);
        let coded = code_split(&best, &digits.test, config.code_len, &ctx.device)?;
        let samples = to_host(self.generate(config, &best, SAMPLES, &ctx.device));
        let reconstructions = run.dir.path("reconstructions.png");
        save_reconstructions(&reconstructions, &best, &digits.test, &ctx.device)?;
        let [fd, confidence] = run.score_samples(&samples)?;
        // bits per image = C rate / ln 2; bits per pixel = that / D
        let rate_bits = config.code_len as f64 * test.rate / LN_2;
        let stream_bits = 8.0 * coded.bytes as f64 / digits.test.len() as f64;
        let metrics = [
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
        let mut artifacts = DIGIT_ARTIFACTS.to_vec();
        artifacts.push(("reconstructions", "reconstructions.png"));
        run.finish(&fitted.summary(), best.parameters(), &metrics, &artifacts)
    }
}
