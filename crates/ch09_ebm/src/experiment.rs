//! The energy-based model on the labelled digits from start to report: early stopping on the
//! book's total loss against Langevin chains of a fixed seed, the test scores of the best model,
//! its samples and chains, and the verbs that reuse its checkpoint.

use anyhow::Result;
use burn::prelude::*;
use burn::tensor::TensorData;
use dgm_core::data::{Digits, Split, standard_normal, to_digit_scale, to_host, to_unit_scale};
use dgm_core::experiment::{DIGIT_ARTIFACTS, DigitModel, SAMPLES, fit_digits, save_chains};
use dgm_core::metrics::MeanAccumulator;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::Trainer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::EbmConfig;
use crate::ebm::{Ebm, jem_loss, langevin_chain, sample_chains, train_loss};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch09_ebm";
/// Seed of the Langevin chains of every evaluation: the same starts and noise each epoch, so
/// that early stopping compares models, not chains.
pub const EVAL_SEED: u64 = 2023;
/// Chains drawn in `chains.png`, and the states shown of each.
const CHAINS: usize = 8;
const SHOWN_STATES: usize = 11;

/// The metrics of a split.
#[derive(Clone, Copy, Debug)]
pub struct Scores {
    /// The fraction of images whose most likely class is not their label.
    pub error: f64,
    /// Mean cross-entropy, nats.
    pub classification: f64,
    /// Mean contrastive term -E(x_sample) + E(x), nats.
    pub generative: f64,
}

impl Scores {
    /// The book's total loss.
    pub fn total(&self) -> f64 {
        self.classification + self.generative
    }
}

/// Every metric over a split (clean images), against Langevin chains drawn from `EVAL_SEED`.
pub fn evaluate(ebm: &Ebm, split: &Split, config: &EbmConfig, device: &Device) -> Scores {
    let mut rng = StdRng::seed_from_u64(EVAL_SEED);
    // A tensor of `dims` whose values are drawn in turn from the fixed generator.
    let mut draw = |dims: [usize; 2], value: fn(&mut StdRng) -> f32| {
        let values = (0..dims[0] * dims[1]).map(|_| value(&mut rng)).collect();
        Tensor::<2>::from_data(TensorData::new(values, dims), device)
    };
    let uniform = |rng: &mut StdRng| rng.random_range(-1.0f32..1.0);
    let normal = |rng: &mut StdRng| standard_normal(rng) as f32;
    let [mut errors, mut classification, mut generative] = <[MeanAccumulator; 3]>::default();
    for indices in split.batches(config.schedule.batch_size) {
        let x = to_unit_scale(split.rows(&indices, device));
        let y = split.labels_of(&indices, device);
        // The chain's start, then each step's noise.
        let x0 = draw([indices.len(), config.dim], uniform);
        let samples = langevin_chain(
            &|x| ebm.neg_energy(x),
            x0,
            config.langevin_steps,
            config.step,
            config.noise,
            |dims| draw(dims, normal),
        )
        .pop()
        .expect("a chain ends with its sample");
        let predicted = ebm.logits(x.clone()).argmax(1).reshape([indices.len()]);
        let wrong = predicted.not_equal(y.clone()).float();
        let (ce, gen_) = jem_loss(ebm, x, y, samples);
        errors.add(&to_host(wrong));
        classification.add(&to_host(ce));
        generative.add(&to_host(gen_));
    }
    Scores {
        error: errors.mean(),
        classification: classification.mean(),
        generative: generative.mean(),
    }
}

/// The energy-based model on the command line: a digit model whose batches are the images and
/// their labels.
pub struct EbmCommand;

impl DigitModel for EbmCommand {
    type Config = EbmConfig;
    type Network = Ebm;
    type Batch = (Tensor<2>, Tensor<1, Int>);

    fn name(&self) -> &'static str {
        "ebm"
    }

    fn build(&self, config: &EbmConfig, device: &Device) -> Ebm {
        Ebm::new(config, device)
    }

    /// Adamax, as in every Tomczak example.
    fn trainer(&self, config: &EbmConfig, ctx: &RunContext) -> Trainer {
        Trainer::adamax(&config.schedule, ctx)
    }

    /// The book's total loss of a batch: classification plus the contrastive term.
    fn loss(&self, config: &EbmConfig, ebm: &Ebm, (x, y): Self::Batch) -> Tensor<1> {
        train_loss(ebm, x, y, config)
    }

    /// n samples on the digits' scale: the last states of Langevin chains.
    fn generate(&self, config: &EbmConfig, ebm: &Ebm, n: usize, device: &Device) -> Tensor<2> {
        let x = sample_chains(ebm, n, config, device)
            .pop()
            .expect("a chain ends with its sample");
        to_digit_scale(x)
    }

    /// Trains on `digits` with early stopping on the validation total loss, evaluates the best
    /// model on the test split, draws samples and chains, and writes every output.
    fn train(&self, config: &EbmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
        let (run, fitted) = fit_digits(self, config, digits, ctx, "val_total_loss", |ebm| {
            evaluate(&ebm.valid(), &digits.val, config, &ctx.device).total()
        })?;

        let best = fitted.best_model.valid();
        let test = evaluate(&best, &digits.test, config, &ctx.device);
        let samples = to_host(self.generate(config, &best, SAMPLES, &ctx.device));
        let chains = sample_chains(&best, CHAINS, config, &ctx.device);
        save_chains(&run.dir.path("chains.png"), &chains, SHOWN_STATES)?;
        let [fd, confidence] = run.score_samples(&samples)?;
        let mut artifacts = DIGIT_ARTIFACTS.to_vec();
        artifacts.push(("chains", "chains.png"));
        let metrics = [
            ("test_error", test.error),
            ("test_classification_loss", test.classification),
            ("test_generative_loss", test.generative),
            ("test_total_loss", test.total()),
            fd,
            confidence,
        ];
        run.finish(&fitted.summary(), best.num_params(), &metrics, &artifacts)
    }
}
