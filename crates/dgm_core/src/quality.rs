//! Sample quality for every model of the digits, with or without a likelihood.
//!
//! A fixed small classifier is trained once on the training digits (fixed seed, cached in
//! `runs/classifier/`). Its last hidden layer gives every image a 64-number feature vector.
//! Two scores compare samples with the test digits through it:
//!
//! - `sample_fd`, the Frechet distance between Gaussians fitted to the features of the samples
//!   and of the test split (the FID of Heusel et al., 2017, with a digit classifier in place of
//!   Inception): ||mu_s - mu_t||^2 + tr(S_s + S_t - 2 (S_s^1/2 S_t S_s^1/2)^1/2). Lower is
//!   better; 0 means the same first two moments.
//! - `sample_confidence`, the classifier's mean largest class probability on the samples: how
//!   much the samples look like some digit.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data::{DIGITS_DIM, DIGITS_LEVELS, Digits, Split, to_host};
use crate::distributions::cross_entropy;
use crate::fused::linear_layer;
use crate::metrics::ensure_finite;

/// Changes whenever the classifier or its training changes, so that no older cached classifier
/// is used.
const CLASSIFIER_VERSION: u32 = 3;
/// Samples drawn for the scores.
pub const SAMPLES: usize = 1000;
/// Seed of the classifier's initialisation and shuffling.
pub const CLASSIFIER_SEED: u64 = 1234;
/// Dimensions of the features.
pub const FEATURES: usize = 64;
const CLASSES: usize = 10;
const EPOCHS: usize = 100;
const BATCH: usize = 64;
const LEARNING_RATE: f64 = 1e-3;

// ANCHOR: classifier
/// MLP 64 -> 128 -> 64 -> 10 with ReLU on pixels scaled to [0, 1]; the 64 numbers before the
/// last layer are the features.
#[derive(Module, Debug)]
pub struct DigitClassifier {
    hidden: Linear,
    features: Linear,
    head: Linear,
}

impl DigitClassifier {
    /// Weights and biases uniform in +-1/sqrt(fan_in), drawn from the classifier's own seeded
    /// generator: the same classifier in every process, whatever else uses the device's.
    fn new(device: &Device) -> DigitClassifier {
        let mut rng = StdRng::seed_from_u64(CLASSIFIER_SEED);
        let mut layer = |fan_in: usize, fan_out: usize| {
            let bound = 1.0 / (fan_in as f32).sqrt();
            let mut uniform = |n: usize| -> Vec<f32> {
                (0..n).map(|_| rng.random_range(-bound..bound)).collect()
            };
            let mut linear = LinearConfig::new(fan_in, fan_out).init(device);
            let weight = TensorData::new(uniform(fan_in * fan_out), [fan_in, fan_out]);
            linear.weight = Param::from_tensor(Tensor::from_data(weight, device));
            let bias = TensorData::new(uniform(fan_out), [fan_out]);
            linear.bias = Some(Param::from_tensor(Tensor::from_data(bias, device)));
            linear
        };
        DigitClassifier {
            hidden: layer(DIGITS_DIM, 128),
            features: layer(128, FEATURES),
            head: layer(FEATURES, CLASSES),
        }
    }

    /// # Shapes
    /// - x: [n, 64] on the digits' 0..16 scale
    /// - returns: [n, 64]
    pub fn features(&self, x: Tensor<2>) -> Tensor<2> {
        let h = relu(linear_layer(&self.hidden, x / (DIGITS_LEVELS - 1) as f64));
        relu(linear_layer(&self.features, h))
    }

    /// # Shapes
    /// - x: [n, 64]
    /// - returns: [n, 10]
    pub fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        linear_layer(&self.head, self.features(x))
    }
}
// ANCHOR_END: classifier

/// The classifier and its accuracy on the test split.
pub struct FixedClassifier {
    pub classifier: DigitClassifier,
    pub test_accuracy: f64,
}

/// Where the trained classifier is kept: `runs/classifier/` of the workspace.
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runs/classifier")
}

impl FixedClassifier {
    /// The cached classifier, or a freshly trained one (a second) that is then cached. Training
    /// is seeded and always uses the whole training split of `digits`, so both give the same
    /// classifier.
    pub fn load_or_train(digits: &Digits, device: &Device) -> Result<FixedClassifier> {
        let path = cache_dir().join(format!("digits-mlp-v{CLASSIFIER_VERSION}.bpk"));
        if let Ok(classifier) = DigitClassifier::new(device).try_load_file(&path) {
            let test_accuracy = accuracy(&classifier, &digits.test, device);
            return Ok(FixedClassifier {
                classifier,
                test_accuracy,
            });
        }
        let trained = FixedClassifier::train(digits, device)?;
        std::fs::create_dir_all(cache_dir())
            .with_context(|| format!("cannot create {}", cache_dir().display()))?;
        // Written under a private name, then renamed: a reader never sees half a file.
        let partial = cache_dir().join(format!("digits-mlp.{}.bpk", std::process::id()));
        trained
            .classifier
            .clone()
            .save_file(&partial)
            .map_err(|e| anyhow::anyhow!("cannot save {}: {e:?}", partial.display()))?;
        std::fs::rename(&partial, &path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(trained)
    }

    /// Trains the classifier: Adam, cross-entropy, 100 epochs of batches of 64.
    pub fn train(digits: &Digits, device: &Device) -> Result<FixedClassifier> {
        let train_device = device.clone().autodiff();
        let mut classifier = DigitClassifier::new(&train_device);
        let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
        let mut rng = StdRng::seed_from_u64(CLASSIFIER_SEED);
        let train = &digits.train;
        for epoch in 0..EPOCHS {
            for (b, indices) in train.shuffled_batches(BATCH, &mut rng).iter().enumerate() {
                let x = train.rows(indices, &train_device);
                let labels = train.labels_of(indices, &train_device);
                let loss = cross_entropy(classifier.logits(x), labels).mean();
                ensure_finite(loss.clone().into_scalar::<f32>() as f64, epoch, b)?;
                let grads = GradientsParams::from_grads(loss.backward(), &classifier);
                classifier = optimizer.step(LEARNING_RATE, classifier, grads);
            }
        }
        let classifier = classifier.valid();
        let test_accuracy = accuracy(&classifier, &digits.test, device);
        Ok(FixedClassifier {
            classifier,
            test_accuracy,
        })
    }
}

/// The fraction of a split the classifier labels correctly.
pub fn accuracy(classifier: &DigitClassifier, split: &Split, device: &Device) -> f64 {
    let all: Vec<usize> = (0..split.len()).collect();
    let predicted = classifier.logits(split.rows(&all, device)).argmax(1);
    let predicted: Vec<i64> = predicted
        .into_data()
        .convert::<i64>()
        .try_into_vec()
        .expect("argmax gives integers");
    let correct = predicted
        .iter()
        .zip(&split.labels)
        .filter(|(p, l)| **p == **l as i64)
        .count();
    correct as f64 / split.len() as f64
}

/// The two scores of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleQuality {
    /// Frechet distance to the reference split in feature space.
    pub fd: f64,
    /// Mean largest class probability.
    pub confidence: f64,
}

// ANCHOR: quality
/// Scores `samples` (images on the 0..16 scale) against the images of `reference`.
///
/// # Shapes
/// - samples: [n, 64]
pub fn sample_quality(
    classifier: &DigitClassifier,
    samples: Tensor<2>,
    reference: &Split,
    device: &Device,
) -> SampleQuality {
    let [n, _] = samples.dims();
    let confidence = softmax(classifier.logits(samples.clone()), 1).max_dim(1);
    let confidence = to_host(confidence).iter().map(|&p| p as f64).sum::<f64>() / n as f64;
    let all: Vec<usize> = (0..reference.len()).collect();
    let sample_features = to_host(classifier.features(samples));
    let reference_features = to_host(classifier.features(reference.rows(&all, device)));
    SampleQuality {
        fd: frechet_distance(
            &gaussian_fit(&sample_features, FEATURES),
            &gaussian_fit(&reference_features, FEATURES),
        ),
        confidence,
    }
}
// ANCHOR_END: quality

/// Mean and covariance (divided by n - 1) of row vectors of `dim` values.
pub fn gaussian_fit(rows: &[f32], dim: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = rows.len() / dim;
    let mut mean = vec![0.0; dim];
    for row in rows.chunks(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64 / n as f64;
        }
    }
    let mut cov = vec![vec![0.0; dim]; dim];
    for row in rows.chunks(dim) {
        let centred: Vec<f64> = row.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect();
        for (cov_row, &ci) in cov.iter_mut().zip(&centred) {
            for (c, &cj) in cov_row.iter_mut().zip(&centred) {
                *c += ci * cj / (n as f64 - 1.0);
            }
        }
    }
    (mean, cov)
}

/// The Frechet distance between N(mu_a, S_a) and N(mu_b, S_b):
/// ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2).
pub fn frechet_distance(a: &(Vec<f64>, Vec<Vec<f64>>), b: &(Vec<f64>, Vec<Vec<f64>>)) -> f64 {
    let (mu_a, cov_a) = a;
    let (mu_b, cov_b) = b;
    let dim = mu_a.len();
    let mean_term: f64 = mu_a.iter().zip(mu_b).map(|(x, y)| (x - y).powi(2)).sum();
    let trace = |m: &Vec<Vec<f64>>| (0..dim).map(|i| m[i][i]).sum::<f64>();
    let root_a = symmetric_sqrt(cov_a);
    let middle = matmul(&matmul(&root_a, cov_b), &root_a);
    // tr(M^1/2) is the sum of the square roots of M's eigenvalues (M is symmetric PSD).
    let (eigenvalues, _) = jacobi_eigen(&middle);
    let cross: f64 = eigenvalues.iter().map(|&l| l.max(0.0).sqrt()).sum();
    mean_term + trace(cov_a) + trace(cov_b) - 2.0 * cross
}

fn matmul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut c = vec![vec![0.0; n]; n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i][k];
            for j in 0..n {
                c[i][j] += aik * b[k][j];
            }
        }
    }
    c
}

/// S^1/2 = V diag(sqrt(lambda)) V^T for a symmetric positive semi-definite S.
fn symmetric_sqrt(s: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = s.len();
    let (lambda, v) = jacobi_eigen(s);
    let mut root = vec![vec![0.0; n]; n];
    for (k, &l) in lambda.iter().enumerate() {
        let r = l.max(0.0).sqrt();
        for i in 0..n {
            for j in 0..n {
                root[i][j] += v[i][k] * r * v[j][k];
            }
        }
    }
    root
}

/// Eigenvalues and eigenvectors (the columns of V) of a symmetric matrix by cyclic Jacobi
/// rotations: each rotation zeroes one off-diagonal pair, and sweeps repeat until the
/// off-diagonal part is negligible.
pub fn jacobi_eigen(s: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = s.len();
    let mut a = s.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let scale: f64 = a.iter().flatten().map(|x| x * x).sum::<f64>().max(1e-300);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                // The angle that zeroes a[p][q]: tan(2 theta) = 2 a_pq / (a_qq - a_pp).
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A <- A J (columns p and q), then A <- J^T A (rows p and q).
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (upper, lower) = a.split_at_mut(q);
                for (apk, aqk) in upper[p].iter_mut().zip(lower[0].iter_mut()) {
                    let (x, y) = (*apk, *aqk);
                    *apk = c * x - s * y;
                    *aqk = s * x + c * y;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classifier_reads_most_test_digits_right_and_scores_real_digits_above_noise() {
        let device = Device::flex();
        let digits = Digits::load().unwrap();
        let trained = FixedClassifier::load_or_train(&digits, &device).unwrap();
        assert!(
            trained.test_accuracy > 0.9,
            "accuracy {}",
            trained.test_accuracy
        );
        let first: Vec<usize> = (0..SAMPLES).collect();
        let real = digits.train.rows(&first, &device);
        let real = sample_quality(&trained.classifier, real, &digits.test, &device);
        let noise = Tensor::<2>::random(
            [SAMPLES, DIGITS_DIM],
            burn::tensor::Distribution::Uniform(0.0, DIGITS_LEVELS as f64),
            &device,
        );
        let noise = sample_quality(&trained.classifier, noise, &digits.test, &device);
        assert!(
            real.fd * 10.0 < noise.fd,
            "real {real:?} vs noise {noise:?}"
        );
    }

    #[test]
    fn the_classifier_does_not_depend_on_the_device_generator() {
        let device = Device::flex();
        device.seed(1);
        let first = crate::data::to_host(DigitClassifier::new(&device).hidden.weight.val());
        device.seed(2);
        let _ = Tensor::<1>::random([10], burn::tensor::Distribution::Default, &device);
        let second = crate::data::to_host(DigitClassifier::new(&device).hidden.weight.val());
        assert_eq!(first, second);
    }

    #[test]
    fn jacobi_finds_the_eigenvalues_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let (mut lambda, v) = jacobi_eigen(&[vec![2.0, 1.0], vec![1.0, 2.0]]);
        lambda.sort_by(f64::total_cmp);
        assert!((lambda[0] - 1.0).abs() < 1e-12 && (lambda[1] - 3.0).abs() < 1e-12);
        // The eigenvectors are orthonormal.
        let dot = v[0][0] * v[0][1] + v[1][0] * v[1][1];
        assert!(dot.abs() < 1e-12);
    }

    #[test]
    fn frechet_distance_of_known_gaussians() {
        // Same covariance: only the means count. 1-D: (mu_a - mu_b)^2 + (sd_a - sd_b)^2.
        let a = (vec![0.0, 0.0], vec![vec![1.0, 0.0], vec![0.0, 4.0]]);
        let b = (vec![3.0, 4.0], vec![vec![1.0, 0.0], vec![0.0, 4.0]]);
        assert!((frechet_distance(&a, &b) - 25.0).abs() < 1e-9);
        let c = (vec![0.0, 0.0], vec![vec![4.0, 0.0], vec![0.0, 9.0]]);
        // (1 - 2)^2 + (2 - 3)^2 = 2
        assert!((frechet_distance(&a, &c) - 2.0).abs() < 1e-9);
        assert!(frechet_distance(&a, &a).abs() < 1e-9);
    }
}
