//! The mixture on the digits from start to report: the book's noisy scale, early stopping on
//! the validation NLL, the test NLL of the best mixture, its samples and its means.

use std::path::Path;

use anyhow::Result;
use burn::optim::AdamWConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use dgm_core::config::Preset;
use dgm_core::data::{DIGITS_LEVELS, DIGITS_SIDE, Digits, Split, standard_normal, to_host};
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, finish_digits, fit_digits};
use dgm_core::metrics::split_mean;
use dgm_core::plot::captioned_images;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::MogConfig;
use crate::mog::Mog;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch01_mog";
/// Seed of the noise added to the validation and test images: the same noisy images at every
/// evaluation.
pub const EVAL_NOISE_SEED: u64 = 2023;

// ANCHOR: data
/// The book's scale: x / 17, so the 17 grey levels lie in [0, 16/17].
pub fn to_mog_scale(x: Tensor<2>) -> Tensor<2> {
    x / DIGITS_LEVELS as f64
}

/// x / 17 plus fresh Gaussian noise: without it, a component could put all its mass on one
/// grey level of a pixel that never changes (a border pixel that is always 0) and drive the
/// likelihood to infinity.
pub fn noisy(x: Tensor<2>, noise_std: f64) -> Tensor<2> {
    let noise = Tensor::random(x.dims(), Distribution::Normal(0.0, noise_std), &x.device());
    to_mog_scale(x) + noise
}

/// A split on the book's scale with noise drawn once from `EVAL_NOISE_SEED`, for evaluation.
pub fn noisy_split(split: &Split, noise_std: f64) -> Split {
    let mut rng = StdRng::seed_from_u64(EVAL_NOISE_SEED);
    let pixels = split
        .pixels
        .iter()
        .map(|&v| (v as f64 / DIGITS_LEVELS as f64 + noise_std * standard_normal(&mut rng)) as f32)
        .collect();
    Split {
        pixels,
        ..split.clone()
    }
}
// ANCHOR_END: data

/// -log p(x) in nats per image, averaged over a split already on the book's scale.
pub fn nll(model: &Mog, split: &Split, batch_size: usize, device: &Device) -> f64 {
    split_mean(split, batch_size, device, |x| model.log_prob(x).neg())
}

/// `means.png` (+ CSV): every component's mean as an image, with its weight pi_k above it,
/// heaviest first.
fn save_means(path: &Path, model: &Mog) -> Result<()> {
    let means = to_host(model.means());
    let weights: Vec<f32> = to_host(model.log_weights().exp());
    let dim = means.len() / weights.len();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
    let images: Vec<f32> = order
        .iter()
        .flat_map(|&k| means[k * dim..(k + 1) * dim].to_vec())
        .collect();
    let captions: Vec<String> = order
        .iter()
        .map(|&k| format!("pi = {:.3}", weights[k]))
        .collect();
    let columns = (weights.len() as f64).sqrt().ceil() as usize;
    captioned_images(path, &images, &captions, DIGITS_SIDE, 1.0, columns)
}

/// The mixture on the command line: the book's, weights fixed at 1/K, or with learned weights
/// pi = softmax(w) (`mog --learn-weights`, runs named `mog-learned-weights`).
pub struct MogCommand {
    /// Learn pi = softmax(w) instead of fixing pi_k = 1/K.
    pub learn_weights: bool,
}

impl DigitModel for MogCommand {
    type Config = MogConfig;
    type Network = Mog;
    type Batch = Tensor<2>;

    fn name(&self) -> &'static str {
        if self.learn_weights {
            "mog-learned-weights"
        } else {
            "mog"
        }
    }

    fn words(&self) -> String {
        if self.learn_weights {
            "mog --learn-weights".into()
        } else {
            "mog".into()
        }
    }

    fn config(&self, quick: bool) -> MogConfig {
        MogConfig {
            learn_weights: self.learn_weights,
            ..MogConfig::preset(quick)
        }
    }

    fn build(&self, config: &MogConfig, device: &Device) -> Mog {
        Mog::new(config, device)
    }

    /// AdamW with PyTorch's defaults (epsilon 1e-8) and the config's weight decay.
    fn trainer(&self, config: &MogConfig, ctx: &RunContext) -> Trainer {
        let adamw = AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(config.weight_decay as f32)
            .init();
        Trainer::new(adamw, &config.schedule, ctx)
    }

    /// The batch mean of -log p(x), with the images on the book's scale and fresh noise.
    fn loss(&self, config: &MogConfig, mog: &Mog, x: Tensor<2>) -> Tensor<1> {
        mog.log_prob(noisy(x, config.noise_std)).neg().mean()
    }

    /// Draws on the digits' scale: x 17, clamped to the 17 levels.
    fn generate(&self, _: &MogConfig, mog: &Mog, n: usize, _: &Device) -> Tensor<2> {
        let x = mog.sample(n) * DIGITS_LEVELS as f64;
        x.clamp(0.0, (DIGITS_LEVELS - 1) as f64)
    }

    /// Trains with early stopping on the validation NLL, evaluates the best mixture on the test
    /// split, draws samples, and writes every output.
    fn train(&self, config: &MogConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let val = noisy_split(&digits.val, config.noise_std);
        let test = noisy_split(&digits.test, config.noise_std);
        let batch = config.schedule.batch_size;
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_nll", |mog| {
            nll(&mog.valid(), &val, batch, &ctx.device)
        })?;

        let best = fitted.best_model.valid();
        let test_nll = nll(&best, &test, batch, &ctx.device);
        save_means(&run.dir.path("means.png"), &best)?;
        let mut artifacts = DIGIT_ARTIFACTS.to_vec();
        artifacts.extend([("means", "means.png"), ("means_csv", "means.csv")]);
        let metrics = [("test_nll", test_nll)];
        finish_digits(self, config, &run, &fitted, &metrics, &artifacts)
    }
}
