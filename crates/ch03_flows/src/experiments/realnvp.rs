//! RealNVP on the dequantised digits.

use std::f64::consts::LN_2;
use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use dgm_core::cli::ModelCommand;
use dgm_core::data::{Digits, Split, to_host};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload,
    save_and_score_samples, save_real_digits, write_digit_samples,
};
use dgm_core::metrics::{bits_per_dim, split_mean};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::FitSettings;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clamp_to_digit_range;
use crate::config::RealNvpConfig;
use crate::realnvp::RealNvp;

/// This model's subcommand.
pub const MODEL: &str = "realnvp";
/// Seed of the dequantisation noise of every evaluation, so validation and test numbers are
/// reproducible and comparable from epoch to epoch.
pub const EVAL_NOISE_SEED: u64 = 2017;

// ANCHOR: dequantize
/// v = x + (1 - u) / 2 with u ~ U[0, 1): each integer pixel becomes a point of (x, x + 1/2],
/// the book's uniform dequantisation.
///
/// # Shapes
/// - x, u: [batch, D]
/// - returns: [batch, D]
pub fn dequantize(x: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
    x + (u.neg() + 1.0) * 0.5
}

/// -log p(v) averaged over a split, v dequantised with noise drawn from [`EVAL_NOISE_SEED`].
pub fn dequantized_nll(model: &RealNvp, split: &Split, batch_size: usize, device: &Device) -> f64 {
    let mut rng = StdRng::seed_from_u64(EVAL_NOISE_SEED);
    split_mean(split, batch_size, device, |x| {
        let [batch, dim] = x.dims();
        let u: Vec<f32> = (0..batch * dim).map(|_| rng.random::<f32>()).collect();
        let u = Tensor::from_data(TensorData::new(u, [batch, dim]), device);
        model.log_prob(dequantize(x, u)).neg()
    })
}

/// An upper bound on the discrete NLL, -log P(x), from the density of the dequantised data.
///
/// The boxes x + (0, 1/2]^D of different images do not overlap, so P(x) = integral of p over the
/// box is a distribution on the integers, and by Jensen's inequality
/// -log P(x) = -log(2^-D E_u p(x + u)) <= -E_u log p(x + u) + D ln 2.
pub fn discrete_nll_bound(dequantized_nll: f64, dim: usize) -> f64 {
    dequantized_nll + dim as f64 * LN_2
}
// ANCHOR_END: dequantize

// ANCHOR: loss
/// The training loss of a batch of integer images: the mean of -log p(x + noise), with fresh
/// dequantisation noise for every batch.
pub fn dequantized_loss(model: &RealNvp, x: Tensor<2>) -> Tensor<1> {
    let u = Tensor::random(x.dims(), Distribution::Uniform(0.0, 1.0), &x.device());
    model.loss(dequantize(x, u))
}
// ANCHOR_END: loss

/// Adamax with the config's learning rate and batch size.
fn trainer(config: &RealNvpConfig, ctx: &RunContext) -> Trainer {
    Trainer::adamax(config.learning_rate, config.batch_size, ctx)
}

/// Samples on the digits' scale: each value v in (x, x + 1/2] belongs to pixel value floor(v).
fn digit_samples(model: &RealNvp, n: usize, config: &RealNvpConfig, device: &Device) -> Vec<f32> {
    let v = model.sample(n, config.flow.dim, device);
    to_host(clamp_to_digit_range(v.floor()))
}

/// Trains with early stopping, evaluates the best model on the test split, draws samples and
/// writes every output of the run. Returns the report it wrote.
pub fn train_and_report(
    config: &RealNvpConfig,
    digits: &Digits,
    ctx: &RunContext,
) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = trainer(config, ctx);
    let model = RealNvp::new(&config.flow, trainer.device());
    let parameters = model.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_nll_dequantized",
    };
    let fitted = run.fit(
        model,
        &mut trainer,
        &digits.train,
        &settings,
        dequantized_loss,
        |model| dequantized_nll(&model.valid(), &digits.val, config.batch_size, &ctx.device),
    )?;

    let best = fitted.best_model.valid();
    let test_nll = dequantized_nll(&best, &digits.test, config.batch_size, &ctx.device);
    let bound = discrete_nll_bound(test_nll, config.flow.dim);
    let samples = digit_samples(&best, SAMPLES, config, &ctx.device);
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
    let metrics = [
        ("test_nll_dequantized", test_nll),
        ("test_nll_discrete_bound", bound),
        ("test_bpd", bits_per_dim(bound, config.flow.dim)),
        fd,
        confidence,
    ];
    run.finish(ctx, &fitted, parameters, config, &metrics, &DIGIT_ARTIFACTS)
}

/// RealNVP on the digits on the command line.
pub struct RealNvpCommand;

impl ModelCommand for RealNvpCommand {
    const MODEL: &'static str = MODEL;
    type Config = RealNvpConfig;

    fn train(config: &RealNvpConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and draws `n` new images (see
    /// [`write_digit_samples`]). Returns the grid's path.
    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        let (run, config, model) = reload(ctx, |config: &RealNvpConfig, device| {
            RealNvp::new(&config.flow, device)
        })?;
        let samples = digit_samples(&model, n, &config, &ctx.device);
        write_digit_samples(&run, ctx, &samples, config.flow.dim, grid, samples_out)
    }

    /// Times `passes` training passes (no validation) and one sample grid.
    fn bench(config: &RealNvpConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let digits = Digits::load()?;
        let mut trainer = trainer(config, ctx);
        let model = RealNvp::new(&config.flow, trainer.device());
        measure(
            ctx,
            model,
            &mut trainer,
            &digits.train,
            passes,
            dequantized_loss,
            |model| {
                digit_samples(&model.valid(), GRID_IMAGES, config, &ctx.device);
            },
        )
    }
}
