//! The protocols of the chapter's three models, and what their runs share: validation with fixed
//! noise, the ODE likelihood over a split, and the ending of every run (samples, the picture of
//! the way from noise to digits, the scores, the report).

pub mod fm;
pub mod sbgm;
pub mod sm;

use std::f64::consts::LN_2;

use anyhow::Result;
use burn::prelude::*;
use burn::tensor::TensorData;
use dgm_core::data::{
    DIGITS_LEVELS, Split, standard_normal, to_digit_scale, to_host, to_unit_scale,
};
use dgm_core::experiment::{DIGIT_ARTIFACTS, Run, SAMPLES, save_chains};
use dgm_core::metrics::split_mean;
use dgm_core::report::Report;
use dgm_core::train::Fitted;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch07_score";
/// Chains drawn in `path.png`, and the states shown of each.
const CHAINS: usize = 8;
const SHOWN_STATES: usize = 10;
/// Test images per batch of the likelihood's ODE (each is repeated D times for the divergence).
const ODE_BATCH: usize = 32;

/// Seed of the times and noise of every validation pass: the same draws each epoch, so that
/// early stopping compares models, not draws.
pub const EVAL_SEED: u64 = 2023;
/// Draws of (t, eps) per validation image.
const EVAL_DRAWS: usize = 8;

/// A loss averaged over a split with 8 fixed draws of a time t ~ U(t_min, 1) and of noise
/// eps ~ N(0, I) per image. `loss(x, t, eps)` gets the batch's images on the [-1, 1] scale, each
/// repeated once per draw, and returns their mean loss.
///
/// # Shapes
/// - loss's x, eps: [batch draws, D]; t: [batch draws, 1]; returns [1]
pub fn fixed_draw_mean(
    split: &Split,
    batch_size: usize,
    t_min: f64,
    device: &Device,
    mut loss: impl FnMut(Tensor<2>, Tensor<2>, Tensor<2>) -> Tensor<1>,
) -> f64 {
    let mut rng = StdRng::seed_from_u64(EVAL_SEED);
    split_mean(split, batch_size, device, |x| {
        let [batch, dim] = x.dims();
        let rows = batch * EVAL_DRAWS;
        // Every image EVAL_DRAWS times: [batch, D] -> [batch, draws, D] -> [batch draws, D]
        let x = to_unit_scale(x)
            .unsqueeze_dim::<3>(1)
            .repeat_dim(1, EVAL_DRAWS)
            .reshape([rows, dim]);
        let t: Vec<f32> = (0..rows)
            .map(|_| (t_min + (1.0 - t_min) * rng.random::<f32>() as f64) as f32)
            .collect();
        let eps: Vec<f32> = (0..rows * dim)
            .map(|_| standard_normal(&mut rng) as f32)
            .collect();
        let t = Tensor::from_data(TensorData::new(t, [rows, 1]), device);
        let eps = Tensor::from_data(TensorData::new(eps, [rows, dim]), device);
        // The batch's mean loss, given to each of its images.
        loss(x, t, eps).reshape([1]).repeat_dim(0, batch)
    })
}

/// The negative log-likelihood of a split under an ODE model, nats per image on the [-1, 1]
/// scale; `log_likelihood` gets the model on an autodiff device (the divergence needs it).
pub fn ode_nll<M: Module>(
    model: &M,
    split: &Split,
    device: &Device,
    log_likelihood: impl Fn(&M, Tensor<2>) -> Tensor<1>,
) -> f64 {
    let autodiff = device.clone().autodiff();
    let model = model.clone().to_device(&autodiff);
    split_mean(split, ODE_BATCH, &autodiff, |x| {
        log_likelihood(&model, to_unit_scale(x)).neg().inner()
    })
}

/// `test_nll_ode` and `test_bpd`: the density times the volume of a pixel's bin (2/17 per
/// dimension) is the discrete probability the density puts near each test image, if it were
/// flat within the bin.
pub fn ode_metrics(test_nll: f64, dim: usize) -> [(&'static str, f64); 2] {
    let bin = 2.0 / DIGITS_LEVELS as f64;
    let binned = test_nll - dim as f64 * bin.ln();
    [
        ("test_nll_ode", test_nll),
        ("test_bpd", binned / (dim as f64 * LN_2)),
    ]
}

/// The end of a sampler's path, on the digits' scale: every model's samples.
///
/// # Shapes
/// - path: states [n, D] on [-1, 1], noise first; returns [n, D]
pub fn path_end(mut path: Vec<Tensor<2>>) -> Tensor<2> {
    to_digit_scale(path.pop().expect("a path ends with x"))
}

/// The ending every run of the chapter shares: draws the samples and the chains of `path.png`
/// from `path(n)` (a sampler's states for n chains, noise first), writes both pictures, scores
/// the samples and finishes the run with `metrics` and the scores.
pub fn finish_with_path<N: Module>(
    run: &Run,
    fitted: &Fitted<N>,
    best: &N,
    path: impl Fn(usize) -> Vec<Tensor<2>>,
    metrics: &[(&'static str, f64)],
) -> Result<Report> {
    let samples = to_host(path_end(path(SAMPLES)));
    let chains = path(CHAINS);
    save_chains(&run.dir.path("path.png"), &chains, SHOWN_STATES)?;
    let scores = run.score_samples(&samples)?;
    let mut artifacts = DIGIT_ARTIFACTS.to_vec();
    artifacts.push(("path", "path.png"));
    let all: Vec<(&str, f64)> = metrics.iter().copied().chain(scores).collect();
    run.finish(&fitted.summary(), best.num_params(), &all, &artifacts)
}
