//! Units and reference points for likelihoods.

use std::f64::consts::LN_2;

use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor};

use crate::data::{Split, to_host};
use crate::distributions::log_sum_exp;

/// Converts a negative log-likelihood in nats per example to bits per dimension.
///
/// bpd = nll / (D ln 2)
pub fn bits_per_dim(nll_nats: f64, dims: usize) -> f64 {
    nll_nats / (dims as f64 * LN_2)
}

/// `test_nll` (nats per image) and `test_bpd`: what a model with an exact likelihood reports.
pub fn nll_metrics(test_nll: f64, dims: usize) -> [(&'static str, f64); 2] {
    [
        ("test_nll", test_nll),
        ("test_bpd", bits_per_dim(test_nll, dims)),
    ]
}

/// The NLL of the uniform distribution over `levels` values in each of `dims` dimensions.
///
/// -log p(x) = D ln K, the number any model that learns must beat (181.33 nats for digits).
pub fn uniform_nll(dims: usize, levels: usize) -> f64 {
    dims as f64 * (levels as f64).ln()
}

/// The NLL of the test split under independent pixels: each pixel its own categorical over
/// `levels` values, fitted to the training split with half a count added to every level (so that
/// a level never seen in training keeps a probability). The baseline every model that relates
/// pixels to each other must beat: 106.37 nats for the digits.
///
/// p_d(v) = (n_d(v) + 1/2) / (N + K/2),  NLL = -(1/N_test) sum_x sum_d ln p_d(x_d)
pub fn independent_pixel_nll(train: &Split, test: &Split, levels: usize) -> f64 {
    let dim = train.dim;
    let mut counts = vec![0.5; dim * levels];
    for row in train.pixels.chunks(dim) {
        for (d, &v) in row.iter().enumerate() {
            counts[d * levels + v as usize] += 1.0;
        }
    }
    let total = train.len() as f64 + 0.5 * levels as f64;
    let nll: f64 = test
        .pixels
        .chunks(dim)
        .flat_map(|row| row.iter().enumerate())
        .map(|(d, &v)| -(counts[d * levels + v as usize] / total).ln())
        .sum();
    nll / test.len() as f64
}

/// Fails with the place where the loss stopped being a number.
pub fn ensure_finite(loss: f64, epoch: usize, batch: usize) -> Result<()> {
    if !loss.is_finite() {
        bail!(
            "the training loss became {loss} at epoch {epoch}, batch {batch}; \
             the last good model is kept in the checkpoint"
        );
    }
    Ok(())
}

/// Running sum of a per-example quantity, reported as sum over the set / N.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanAccumulator {
    sum: f64,
    count: usize,
}

impl MeanAccumulator {
    /// Adds the values of one batch.
    pub fn add(&mut self, values: &[f32]) {
        self.sum += values.iter().map(|&v| v as f64).sum::<f64>();
        self.count += values.len();
    }

    /// sum / N (NaN when nothing was added).
    pub fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }
}

/// The mean over a split of a per-example quantity, computed batch by batch in row order.
///
/// `per_example(x)` maps a batch [batch, dim] to one value per image [batch]; for a likelihood
/// model, -log p(x), so the result is the split's NLL: sum over its images / N.
pub fn split_mean(
    split: &Split,
    batch_size: usize,
    device: &Device,
    mut per_example: impl FnMut(Tensor<2>) -> Tensor<1>,
) -> f64 {
    let mut total = MeanAccumulator::default();
    for indices in split.batches(batch_size) {
        total.add(&to_host(per_example(split.rows(&indices, device))));
    }
    total.mean()
}

/// The importance-weighted log-likelihood estimate from K log-weights per example:
///
/// log p(x) ~ log (1/K) sum_k w_k = logsumexp_k log w_k - ln K,
///
/// with w_k = p(x, z_k) / q(z_k | x), z_k ~ q(z | x). A lower bound on log p(x) in expectation
/// that tightens as K grows (Burda et al., 2016); K = 1 is the ELBO.
///
/// # Shapes
/// - log_weights: [batch, K]
/// - returns: [batch]
pub fn importance_weighted_log_likelihood(log_weights: Tensor<2>) -> Tensor<1> {
    let [batch, k] = log_weights.dims();
    // [batch, K] -> [batch, 1] -> [batch]
    (log_sum_exp(log_weights, 1) - (k as f64).ln()).reshape([batch])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_baseline_of_the_digits() {
        assert!((uniform_nll(64, 17) - 181.3257).abs() < 1e-3);
        assert!((bits_per_dim(uniform_nll(64, 17), 64) - 17f64.log2()).abs() < 1e-12);
    }

    #[test]
    fn the_independent_pixel_baseline_of_the_digits() {
        let digits = crate::data::Digits::load().unwrap();
        let nll = independent_pixel_nll(&digits.train, &digits.test, 17);
        assert!((nll - 106.3652).abs() < 1e-3, "{nll}");
    }

    #[test]
    fn a_non_finite_loss_names_epoch_and_batch() {
        let err = ensure_finite(f64::NAN, 3, 7).unwrap_err().to_string();
        assert!(err.contains("epoch 3, batch 7"), "{err}");
        assert!(ensure_finite(1.0, 0, 0).is_ok());
    }

    #[test]
    fn mean_is_sum_over_n_across_uneven_batches() {
        let mut acc = MeanAccumulator::default();
        acc.add(&[1.0, 2.0, 3.0]);
        acc.add(&[6.0]);
        assert_eq!(acc.mean(), 3.0);
    }
}
