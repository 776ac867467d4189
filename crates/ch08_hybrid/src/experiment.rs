//! The hybrid model on the labelled digits from start to report: early stopping on the book's
//! objective, the test scores of the best model (error, NLL, the misclassified digits), its
//! samples, and the verbs that reuse its checkpoint.

use std::path::Path;

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::{DIGITS_LEVELS, DIGITS_SIDE, Digits, Split, to_host};
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, finish_digits, fit_digits};
use dgm_core::metrics::MeanAccumulator;
use dgm_core::plot::captioned_images;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;

use crate::config::HybridConfig;
use crate::hybrid::{Hybrid, hybrid_terms, train_loss};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch08_hybrid";
/// Misclassified test digits drawn in `misclassified.png`, at most.
const SHOWN_ERRORS: usize = 40;

/// The metrics of a split.
#[derive(Clone, Debug)]
pub struct Scores {
    /// The fraction of images whose most likely class is not their label.
    pub error: f64,
    /// Mean cross-entropy, nats.
    pub classification: f64,
    /// Mean -log p(x), nats per image.
    pub nll: f64,
    /// The book's objective: classification + alpha nll.
    pub total: f64,
    /// (row, label, predicted label) of every misclassified image.
    pub mistakes: Vec<(usize, u8, u8)>,
}

/// Every metric over a split.
pub fn evaluate(model: &Hybrid, split: &Split, config: &HybridConfig, device: &Device) -> Scores {
    let [mut errors, mut classification, mut nll] = <[MeanAccumulator; 3]>::default();
    let mut mistakes = Vec::new();
    for indices in split.batches(config.schedule.batch_size) {
        let x = split.rows(&indices, device);
        let y = split.labels_of(&indices, device);
        let outputs = model.outputs(x);
        let predicted: Vec<f32> = to_host(outputs.logits.clone().argmax(1).float());
        let (ce, neg_log_p) = hybrid_terms(outputs, y);
        let wrong: Vec<f32> = indices
            .iter()
            .zip(&predicted)
            .map(|(&i, &p)| {
                let (label, guess) = (split.labels[i], p as u8);
                if label != guess {
                    mistakes.push((i, label, guess));
                }
                f32::from(label != guess)
            })
            .collect();
        errors.add(&wrong);
        classification.add(&to_host(ce));
        nll.add(&to_host(neg_log_p));
    }
    let (classification, nll) = (classification.mean(), nll.mean());
    Scores {
        error: errors.mean(),
        classification,
        nll,
        total: classification + config.alpha * nll,
        mistakes,
    }
}

/// `misclassified.png` (+ CSV): test digits the classifier gets wrong, captioned
/// "label -> predicted".
fn save_mistakes(path: &Path, test: &Split, mistakes: &[(usize, u8, u8)]) -> Result<()> {
    let shown = &mistakes[..mistakes.len().min(SHOWN_ERRORS)];
    let images: Vec<f32> = shown
        .iter()
        .flat_map(|&(i, _, _)| test.pixels[i * test.dim..(i + 1) * test.dim].to_vec())
        .collect();
    let captions: Vec<String> = shown
        .iter()
        .map(|&(_, label, guess)| format!("{label} -> {guess}"))
        .collect();
    let max = (DIGITS_LEVELS - 1) as f32;
    captioned_images(path, &images, &captions, DIGITS_SIDE, max, 10)
}

/// The hybrid model on the command line: a digit model whose batches are the images and their
/// labels.
pub struct HybridCommand;

impl DigitModel for HybridCommand {
    type Config = HybridConfig;
    type Network = Hybrid;
    type Batch = (Tensor<2>, Tensor<1, Int>);

    fn name(&self) -> &'static str {
        "hybrid"
    }

    fn build(&self, config: &HybridConfig, device: &Device) -> Hybrid {
        Hybrid::new(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &HybridConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    /// -log p(y | x) - alpha log p(x), the batch mean.
    fn loss(&self, config: &HybridConfig, model: &Hybrid, (x, y): Self::Batch) -> Tensor<1> {
        train_loss(model, x, y, config.alpha)
    }

    /// Samples of the flow on the digits' scale (clamped to the 17 levels).
    fn generate(&self, _: &HybridConfig, model: &Hybrid, n: usize, _: &Device) -> Tensor<2> {
        model.sample(n).clamp(0.0, (DIGITS_LEVELS - 1) as f64)
    }

    /// Trains on `digits` with early stopping on the validation objective, evaluates the best
    /// model on the test split, draws samples and the misclassified digits, and writes every
    /// output.
    fn train(&self, config: &HybridConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_objective", |model| {
            evaluate(&model.valid(), &digits.val, config, &ctx.device).total
        })?;

        let best = fitted.best_model.valid();
        let test = evaluate(&best, &digits.test, config, &ctx.device);
        let mistakes = run.dir.path("misclassified.png");
        save_mistakes(&mistakes, &digits.test, &test.mistakes)?;
        let mut artifacts = DIGIT_ARTIFACTS.to_vec();
        artifacts.extend([
            ("misclassified", "misclassified.png"),
            ("misclassified_csv", "misclassified.csv"),
        ]);
        let metrics = [
            ("test_error", test.error),
            ("test_nll", test.nll),
            ("test_classification_loss", test.classification),
            ("test_objective", test.total),
        ];
        finish_digits(self, config, &run, &fitted, &metrics, &artifacts)
    }
}
