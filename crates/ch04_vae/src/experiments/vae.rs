//! A VAE on the digits from start to report: the book's `vae` (L = 16, standard normal prior)
//! and the prior experiment `priors --prior <kind>` (L = 2).

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::data::{Digits, Split, to_host};
use dgm_core::experiment::{
    Bench, DIGIT_ARTIFACTS, GRID_IMAGES, Run, SAMPLES, Trainer, measure, reload,
    save_and_score_samples, save_real_digits, write_digit_samples,
};
use dgm_core::metrics::{bits_per_dim, split_mean};
use dgm_core::report::Report;
use dgm_core::run::RunContext;
use dgm_core::train::{FitSettings, Fitted};
use serde::Serialize;

use super::pictures::{Autoencoder, save_interpolation, save_latent_map, save_reconstructions};
use crate::config::{PriorKind, VaeConfig};
use crate::vae::Vae;

/// Images per batch of the importance-weighted estimate (each is repeated K times).
const IW_BATCH: usize = 8;

/// Adamax with the config's learning rate and batch size.
fn trainer(config: &VaeConfig, ctx: &RunContext) -> Trainer {
    Trainer::adamax(config.learning_rate, config.batch_size, ctx)
}

/// A latent-variable model evaluated by its ELBO and by importance weighting (chapter 5's
/// hierarchical VAE is one too).
pub trait VariationalBound {
    /// One-sample ELBO per image.
    fn elbo(&self, x: Tensor<2>) -> Tensor<1>;
    /// The importance-weighted estimate of log p(x) with `k` samples per image.
    fn iw_log_likelihood(&self, x: Tensor<2>, k: usize) -> Tensor<1>;
}

impl VariationalBound for Vae {
    fn elbo(&self, x: Tensor<2>) -> Tensor<1> {
        Vae::elbo(self, x)
    }

    fn iw_log_likelihood(&self, x: Tensor<2>, k: usize) -> Tensor<1> {
        Vae::iw_log_likelihood(self, x, k)
    }
}

/// -ELBO averaged over a split (one sample of z per image, as in the book): an upper bound on
/// the NLL, nats per image.
pub fn neg_elbo(
    model: &impl VariationalBound,
    split: &Split,
    batch_size: usize,
    device: &Device,
) -> f64 {
    split_mean(split, batch_size, device, |x| model.elbo(x).neg())
}

/// The importance-weighted NLL estimate with `k` samples per image, averaged over a split.
pub fn nll_iw(model: &impl VariationalBound, split: &Split, k: usize, device: &Device) -> f64 {
    split_mean(split, IW_BATCH, device, |x| {
        model.iw_log_likelihood(x, k).neg()
    })
}

/// What this chapter's experiment needs from a latent-variable model, besides its bound and
/// its pictures (chapter 5's hierarchical VAE runs through it too).
pub trait LatentModel: Module + Clone + VariationalBound + Autoencoder {
    /// The trained parameters.
    fn parameters(&self) -> usize;
    /// n images drawn from the model.
    ///
    /// # Shapes
    /// - returns: [n, D]
    fn generate(&self, n: usize, device: &Device) -> Tensor<2>;
}

impl LatentModel for Vae {
    fn parameters(&self) -> usize {
        self.num_params()
    }

    fn generate(&self, n: usize, device: &Device) -> Tensor<2> {
        self.sample(n, device)
    }
}

/// How a latent-variable model is trained and evaluated: the book's protocol.
pub struct Schedule {
    pub batch_size: usize,
    /// Adamax learning rate.
    pub learning_rate: f64,
    pub max_epochs: usize,
    pub patience: usize,
    /// Importance samples per test image.
    pub iw_samples: usize,
}

impl From<&VaeConfig> for Schedule {
    fn from(config: &VaeConfig) -> Schedule {
        Schedule {
            batch_size: config.batch_size,
            learning_rate: config.learning_rate,
            max_epochs: config.max_epochs,
            patience: config.patience,
            iw_samples: config.iw_samples,
        }
    }
}

/// A trained and evaluated run whose report is not written yet.
pub struct Evaluated<M> {
    pub run: Run,
    pub fitted: Fitted<M>,
    /// The best model, for inference.
    pub best: M,
    pub parameters: usize,
    pub metrics: Vec<(&'static str, f64)>,
    pub artifacts: Vec<(&'static str, &'static str)>,
}

// ANCHOR: train
/// Trains the model `build` makes with early stopping on the validation -ELBO, then evaluates
/// the best one on the test split (-ELBO, the importance-weighted NLL) and draws its samples,
/// reconstructions and interpolations.
pub fn train_and_evaluate<M: LatentModel>(
    build: impl FnOnce(&Device) -> M,
    schedule: &Schedule,
    config: &impl Serialize,
    digits: &Digits,
    ctx: &RunContext,
) -> Result<Evaluated<M>> {
    let run = Run::start(ctx, config)?;
    save_real_digits(&run.dir, &digits.test, &ctx.device)?;
    let mut trainer = Trainer::adamax(schedule.learning_rate, schedule.batch_size, ctx);
    let model = build(trainer.device());
    let parameters = model.parameters();
    let settings = FitSettings {
        max_epochs: schedule.max_epochs,
        patience: schedule.patience,
        val_name: "val_neg_elbo",
    };
    let batch = schedule.batch_size;
    let fitted = run.fit(
        model,
        &mut trainer,
        &digits.train,
        &settings,
        |model, x| model.elbo(x).neg().mean(),
        |model| neg_elbo(&model.valid(), &digits.val, batch, &ctx.device),
    )?;

    let best = fitted.best_model.clone().valid();
    let test_neg_elbo = neg_elbo(&best, &digits.test, batch, &ctx.device);
    let test_nll_iw = nll_iw(&best, &digits.test, schedule.iw_samples, &ctx.device);
    let samples = to_host(best.generate(SAMPLES, &ctx.device));
    let dim = digits.test.dim;
    let [fd, confidence] = save_and_score_samples(&run.dir, &samples, &ctx.device)?;
    let path = |name| run.dir.path(name);
    save_reconstructions(
        &path("reconstructions.png"),
        &best,
        &digits.test,
        &ctx.device,
    )?;
    save_interpolation(&path("interpolation.png"), &best, &digits.test, &ctx.device)?;
    let mut artifacts = DIGIT_ARTIFACTS.to_vec();
    artifacts.extend([
        ("reconstructions", "reconstructions.png"),
        ("interpolation", "interpolation.png"),
    ]);
    let metrics = vec![
        ("test_neg_elbo", test_neg_elbo),
        ("test_nll_iw", test_nll_iw),
        ("test_bpd", bits_per_dim(test_nll_iw, dim)),
        fd,
        confidence,
    ];
    Ok(Evaluated {
        run,
        fitted,
        best,
        parameters,
        metrics,
        artifacts,
    })
}
// ANCHOR_END: train

/// Trains and evaluates a VAE, draws the latent map when z is 2-D, and writes every output of
/// the run. Returns the report it wrote.
pub fn train_and_report(config: &VaeConfig, digits: &Digits, ctx: &RunContext) -> Result<Report> {
    let build = |device: &Device| Vae::new(config, device);
    let mut done = train_and_evaluate(build, &Schedule::from(config), config, digits, ctx)?;
    if config.latent == 2 {
        let path = done.run.dir.path("latent.png");
        save_latent_map(&path, &done.best, &digits.test, &ctx.device)?;
        done.artifacts
            .extend([("latent", "latent.png"), ("latent_csv", "latent.csv")]);
    }
    done.run.finish(
        ctx,
        &done.fitted,
        done.parameters,
        config,
        &done.metrics,
        &done.artifacts,
    )
}

/// Reloads the best checkpoint of a finished run and draws `n` new images.
fn sample_from_checkpoint(
    ctx: &RunContext,
    n: usize,
    grid: Option<PathBuf>,
    samples_out: Option<&Path>,
) -> Result<PathBuf> {
    let (run, config, model) = reload(ctx, Vae::new)?;
    let config: VaeConfig = config;
    let samples = to_host(model.sample(n, &ctx.device));
    write_digit_samples(&run, ctx, &samples, config.dim, grid, samples_out)
}

/// Times `passes` training passes (no validation) and one sample grid.
fn bench(config: &VaeConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
    let digits = Digits::load()?;
    let mut trainer = trainer(config, ctx);
    let model = Vae::new(config, trainer.device());
    measure(
        ctx,
        model,
        &mut trainer,
        &digits.train,
        passes,
        |model, x| model.loss(x),
        |model| {
            to_host(model.valid().sample(GRID_IMAGES, &ctx.device));
        },
    )
}

/// The book's VAE on the command line.
pub struct VaeCommand;

impl ModelCommand for VaeCommand {
    const MODEL: &'static str = "vae";
    type Config = VaeConfig;

    fn train(config: &VaeConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        sample_from_checkpoint(ctx, n, grid, samples_out)
    }

    fn bench(config: &VaeConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        bench(config, ctx, passes)
    }
}

/// Which prior a `priors` run uses, and the names it goes by.
pub trait PriorChoice {
    const KIND: PriorKind;
    /// The run's name in paths and reports.
    const MODEL: &'static str;
    /// The words that select it.
    const COMMAND: &'static str;
}

/// The 2-D VAE with the prior `P` on the command line.
pub struct PriorsCommand<P>(PhantomData<P>);

impl<P: PriorChoice> ModelCommand for PriorsCommand<P> {
    const MODEL: &'static str = P::MODEL;
    const COMMAND: &'static str = P::COMMAND;
    type Config = VaeConfig;

    fn preset(quick: bool) -> VaeConfig {
        let config = if quick {
            VaeConfig::quick()
        } else {
            VaeConfig::full()
        };
        config.with_prior(P::KIND)
    }

    fn train(config: &VaeConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Digits::load()?, ctx)
    }

    fn sample(
        ctx: &RunContext,
        n: usize,
        grid: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        sample_from_checkpoint(ctx, n, grid, samples_out)
    }

    fn bench(config: &VaeConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        bench(config, ctx, passes)
    }
}

/// N(0, I) in two dimensions.
pub struct Standard;
/// A mixture of Gaussians.
pub struct Mog;
/// The VampPrior.
pub struct Vampprior;
/// A RealNVP prior.
pub struct Flow;

impl PriorChoice for Standard {
    const KIND: PriorKind = PriorKind::Standard;
    const MODEL: &'static str = "priors-standard";
    const COMMAND: &'static str = "priors --prior standard";
}

impl PriorChoice for Mog {
    const KIND: PriorKind = PriorKind::Mog;
    const MODEL: &'static str = "priors-mog";
    const COMMAND: &'static str = "priors --prior mog";
}

impl PriorChoice for Vampprior {
    const KIND: PriorKind = PriorKind::Vampprior;
    const MODEL: &'static str = "priors-vampprior";
    const COMMAND: &'static str = "priors --prior vampprior";
}

impl PriorChoice for Flow {
    const KIND: PriorKind = PriorKind::Flow;
    const MODEL: &'static str = "priors-flow";
    const COMMAND: &'static str = "priors --prior flow";
}
