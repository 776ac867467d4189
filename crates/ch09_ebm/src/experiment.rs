//! The energy-based model on the labelled digits from start to report, and the verbs that reuse
//! its checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, Split, standard_normal, to_digit_scale, to_host, to_unit_scale};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, reload, save_and_score_samples,
    save_chains, save_real_digits, time_passes, write_digit_samples,
};
use dgm_core::metrics::MeanAccumulator;
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::EbmConfig;
use crate::ebm::{Ebm, jem_loss, langevin_chain};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch09_ebm";
/// Seed of the Langevin chains of every evaluation: the same starts and noise each epoch, so
/// that early stopping compares models, not chains.
pub const EVAL_SEED: u64 = 2023;
/// Chains drawn in `chains.png`, and the states shown of each.
const CHAINS: usize = 8;
const SHOWN_STATES: usize = 11;

/// Adamax with the config's learning rate and batch size.
fn trainer(config: &EbmConfig, ctx: &RunContext) -> Trainer {
    Trainer::adamax(config.learning_rate, config.batch_size, ctx)
}

/// Langevin chains from uniform noise, with the device's random numbers.
///
/// # Shapes
/// - returns: langevin_steps + 1 tensors [n, D]
pub fn sample_chains(ebm: &Ebm, n: usize, config: &EbmConfig, device: &Device) -> Vec<Tensor<2>> {
    let x0 = Tensor::random([n, config.dim], Distribution::Uniform(-1.0, 1.0), device);
    let noise = |dims: [usize; 2]| Tensor::random(dims, Distribution::Normal(0.0, 1.0), device);
    let neg_energy = |x| ebm.neg_energy(x);
    langevin_chain(
        &neg_energy,
        x0,
        config.langevin_steps,
        config.step,
        config.noise,
        noise,
    )
}

/// The training loss of a batch: the images on the [-1, 1] scale with fresh noise, against a
/// fresh chain of as many samples from the model as it stands.
fn train_loss(ebm: &Ebm, x: Tensor<2>, y: Tensor<1, Int>, config: &EbmConfig) -> Tensor<1> {
    let [batch, _] = x.dims();
    let device = x.device();
    let noise = Tensor::random(
        x.dims(),
        Distribution::Normal(0.0, config.noise_std),
        &device,
    );
    let x = to_unit_scale(x) + noise;
    let samples = sample_chains(&ebm.valid(), batch, config, &device)
        .pop()
        .expect("a chain ends with its sample");
    let (classification, generative) = jem_loss(ebm, x, y, samples);
    (classification + generative).mean()
}

/// The metrics of a split.
#[derive(Clone, Copy, Debug)]
pub struct Evaluation {
    /// The fraction of images whose most likely class is not their label.
    pub error: f64,
    /// Mean cross-entropy, nats.
    pub classification: f64,
    /// Mean contrastive term -E(x_sample) + E(x), nats.
    pub generative: f64,
}

impl Evaluation {
    /// The book's total loss.
    pub fn total(&self) -> f64 {
        self.classification + self.generative
    }
}

/// Every metric over a split (clean images), against Langevin chains drawn from `EVAL_SEED`.
pub fn evaluate(ebm: &Ebm, split: &Split, config: &EbmConfig, device: &Device) -> Evaluation {
    let mut rng = StdRng::seed_from_u64(EVAL_SEED);
    let host = |values: Vec<f32>, dims: [usize; 2]| {
        Tensor::<2>::from_data(TensorData::new(values, dims), device)
    };
    let (mut errors, mut classification, mut generative) = (
        MeanAccumulator::default(),
        MeanAccumulator::default(),
        MeanAccumulator::default(),
    );
    for indices in split.batches(config.batch_size) {
        let x = to_unit_scale(split.rows(&indices, device));
        let y = split.labels_of(&indices, device);
        let dims = [indices.len(), config.dim];
        let start: Vec<f32> = (0..dims[0] * dims[1])
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        let mut noises: Vec<Vec<f32>> = (0..config.langevin_steps)
            .map(|_| {
                (0..dims[0] * dims[1])
                    .map(|_| standard_normal(&mut rng) as f32)
                    .collect()
            })
            .collect();
        noises.reverse();
        let chain = langevin_chain(
            &|x| ebm.neg_energy(x),
            host(start, dims),
            config.langevin_steps,
            config.step,
            config.noise,
            |dims| host(noises.pop().expect("one noise per step"), dims),
        );
        let samples = chain.last().expect("a chain ends with its sample").clone();
        let predicted = ebm.logits(x.clone()).argmax(1).reshape([indices.len()]);
        let wrong = predicted.not_equal(y.clone()).float();
        let (ce, gen_) = jem_loss(ebm, x, y, samples);
        errors.add(&to_host(wrong));
        classification.add(&to_host(ce));
        generative.add(&to_host(gen_));
    }
    Evaluation {
        error: errors.mean(),
        classification: classification.mean(),
        generative: generative.mean(),
    }
}

/// n samples on the digits' scale: the last states of Langevin chains.
fn sample_digits(ebm: &Ebm, n: usize, config: &EbmConfig, device: &Device) -> Vec<f32> {
    let x = sample_chains(ebm, n, config, device)
        .pop()
        .expect("a chain ends with its sample");
    to_host(to_digit_scale(x))
}

/// Trains with early stopping on the validation total loss, evaluates the best model on the
/// test split, draws samples and chains, and writes every output.
pub fn train_and_report(config: &EbmConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = trainer(config, ctx);
    let ebm = Ebm::new(config, trainer.device());
    let parameters = ebm.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_total_loss",
    };
    let fitted = run.fit_labelled(
        ebm,
        &mut trainer,
        &digits.train,
        &settings,
        |ebm, (x, y)| train_loss(ebm, x, y, config),
        |ebm| evaluate(&ebm.valid(), &digits.val, config, &ctx.device).total(),
    )?;

    let best = fitted.best_model.valid();
    let test = evaluate(&best, &digits.test, config, &ctx.device);
    let samples = sample_digits(&best, SAMPLES, config, &ctx.device);
    let chains = sample_chains(&best, CHAINS, config, &ctx.device);
    save_chains(&run.dir.path("chains.png"), &chains, SHOWN_STATES)?;
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
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
    run.finish(ctx, &fitted, parameters, config, &metrics, &artifacts)
}

/// The energy-based model on the command line.
pub struct EbmCommand;

impl ModelCommand for EbmCommand {
    const MODEL: &'static str = "ebm";
    type Config = EbmConfig;

    fn train(config: &EbmConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, ebm) = reload(ctx, Ebm::new)?;
        let config: EbmConfig = config;
        let samples = sample_digits(&ebm, n, &config, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &EbmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = trainer(config, ctx);
        let ebm = Ebm::new(config, trainer.device());
        time_passes(
            ctx,
            passes,
            ebm,
            |ebm, pass| {
                let loss = |ebm: &Ebm, (x, y)| train_loss(ebm, x, y, config);
                Ok(trainer.labelled_epoch(ebm, &digits.train, pass, loss)?.0)
            },
            |ebm| {
                sample_digits(&ebm.valid(), GRID_IMAGES, config, &ctx.device);
            },
        )
    }
}
