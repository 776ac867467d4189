//! Foster's two moons: the data set of the two-dimensional RealNVP, standardised as the book's
//! Keras `Normalization` layer does, and the statistics that say how close the flow's map of it
//! is to N(0, I).

use burn::prelude::*;
use dgm_core::data::{Split, to_host, two_moons};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::MoonsConfig;

/// Training, validation and test points, standardised with the training set's mean and standard
/// deviation per coordinate (the book's Keras `Normalization` layer).
#[derive(Clone, Debug)]
pub struct MoonsData {
    pub train: Split,
    pub val: Split,
    pub test: Split,
}

impl MoonsData {
    /// Draws the three sets from one seeded generator.
    pub fn generate(config: &MoonsConfig, seed: u64) -> MoonsData {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut train = two_moons(config.points, config.noise, &mut rng);
        let mut val = two_moons(config.eval_points, config.noise, &mut rng);
        let mut test = two_moons(config.eval_points, config.noise, &mut rng);
        let n = train.len() as f64;
        for d in 0..2 {
            let column = || train.pixels.iter().skip(d).step_by(2).map(|&v| v as f64);
            let mean = column().sum::<f64>() / n;
            let std = (column().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            for split in [&mut train, &mut val, &mut test] {
                for v in split.pixels.iter_mut().skip(d).step_by(2) {
                    *v = ((*v as f64 - mean) / std) as f32;
                }
            }
        }
        MoonsData { train, val, test }
    }
}

/// Points of a [n, 2] tensor as (x, y) pairs.
pub fn points(tensor: Tensor<2>) -> Vec<(f64, f64)> {
    to_host(tensor)
        .chunks(2)
        .map(|p| (p[0] as f64, p[1] as f64))
        .collect()
}

/// Mean and covariance of 2-D points.
pub fn moments(points: &[(f64, f64)]) -> ([f64; 2], [[f64; 2]; 2]) {
    let n = points.len() as f64;
    let mean = [
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    ];
    let mut cov = [[0.0; 2]; 2];
    for &(x, y) in points {
        let centred = [x - mean[0], y - mean[1]];
        for i in 0..2 {
            for j in 0..2 {
                cov[i][j] += centred[i] * centred[j] / n;
            }
        }
    }
    (mean, cov)
}

/// How far points are from N(0, I): the largest |mean| and the largest |covariance - identity|
/// over the coordinates.
pub fn distance_from_standard_normal(points: &[(f64, f64)]) -> (f64, f64) {
    let (mean, cov) = moments(points);
    let cov_deviation = (0..2)
        .flat_map(|i| (0..2).map(move |j| (i, j)))
        .map(|(i, j)| (cov[i][j] - if i == j { 1.0 } else { 0.0 }).abs())
        .fold(0.0, f64::max);
    (mean[0].abs().max(mean[1].abs()), cov_deviation)
}
