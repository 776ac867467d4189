//! What a VAE shows besides samples: reconstructions, a walk through latent space, for a 2-D
//! latent space the whole map of it, and how the importance-weighted bound tightens with its
//! number of samples. The first two need only an [`Autoencoder`], so chapter 5's hierarchical
//! VAE draws them too.

use std::path::Path;

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::{DIGITS_DIM, Split, to_host};
use dgm_core::images::{DIGITS_GRID, GridSpec, alternate_rows, save_grid};
use dgm_core::plot::{density_with_points, line_plot};
use dgm_core::run::RunDir;

use crate::vae::{Vae, VariationalBound, nll_iw};

/// Test digits shown with their reconstructions.
const RECONSTRUCTED: usize = 32;
/// Steps of each interpolation, ends included.
const STEPS: usize = 10;
/// Pairs of test digits interpolated between.
const PAIRS: usize = 6;
/// Grid points per side of the prior's density map.
const RESOLUTION: usize = 120;

/// The files [`save_pictures`] writes, by role.
pub const PICTURES: [(&str, &str); 2] = [
    ("reconstructions", "reconstructions.png"),
    ("interpolation", "interpolation.png"),
];
/// The files of [`save_latent_map`], by role (the plot writes its points beside it as CSV).
pub const LATENT_MAP: [(&str, &str); 2] = [("latent", "latent.png"), ("latent_csv", "latent.csv")];

/// The numbers of samples K of the importance-weighted curve (up to the run's K).
const IW_SAMPLES: [usize; 10] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
/// The files of [`save_iw_curve`], by role.
pub const IW_CURVE: [(&str, &str); 2] = [("iw_curve", "iw.png"), ("iw_curve_csv", "iw.csv")];

/// A model with an encoder and a decoder, as the pictures need it: a code for an image and an
/// image for a code (chapter 5's hierarchical VAE is one too).
pub trait Autoencoder {
    /// The code of x: the mean of its approximate posterior.
    ///
    /// # Shapes
    /// - x: [n, D]
    /// - returns: [n, L]
    fn code(&self, x: Tensor<2>) -> Tensor<2>;
    /// The decoder's mean image of a code.
    ///
    /// # Shapes
    /// - code: [n, L]
    /// - returns: [n, D]
    fn picture(&self, code: Tensor<2>) -> Tensor<2>;
}

impl Autoencoder for Vae {
    fn code(&self, x: Tensor<2>) -> Tensor<2> {
        self.encode(x).0
    }

    fn picture(&self, code: Tensor<2>) -> Tensor<2> {
        self.mean_image(code)
    }
}

/// Writes the [`PICTURES`] of `model` into the run directory: reconstructions of test digits,
/// then interpolations between them.
pub fn save_pictures(
    dir: &RunDir,
    model: &impl Autoencoder,
    test: &Split,
    device: &Device,
) -> Result<()> {
    save_reconstructions(&dir.path("reconstructions.png"), model, test, device)?;
    save_interpolation(&dir.path("interpolation.png"), model, test, device)
}

/// `reconstructions.png`: rows of 8 test digits, each followed by the row of their
/// reconstructions, the decoder's mean image at the posterior mean.
pub fn save_reconstructions(
    path: &Path,
    model: &impl Autoencoder,
    test: &Split,
    device: &Device,
) -> Result<()> {
    let indices: Vec<usize> = (0..RECONSTRUCTED.min(test.len())).collect();
    let x = test.rows(&indices, device);
    let reconstructed = to_host(model.picture(model.code(x.clone())));
    let grid = alternate_rows(&to_host(x), &reconstructed, DIGITS_GRID.columns, DIGITS_DIM);
    save_grid(path, &grid, DIGITS_GRID)
}

/// `interpolation.png`: for pairs of test digits (a, b), the mean images along the straight
/// line z = (1 - t) mu(a) + t mu(b), t = 0, 1/9, ..., 1, one pair per row.
pub fn save_interpolation(
    path: &Path,
    model: &impl Autoencoder,
    test: &Split,
    device: &Device,
) -> Result<()> {
    // The first test digit of each of PAIRS + 1 different classes, then consecutive pairs.
    let mut firsts: Vec<usize> = Vec::new();
    for (i, label) in test.labels.iter().enumerate() {
        if firsts.len() <= PAIRS && firsts.iter().all(|&j| test.labels[j] != *label) {
            firsts.push(i);
        }
    }
    let mu = model.code(test.rows(&firsts, device));
    let [count, latent] = mu.dims();
    let mut rows = Vec::new();
    for pair in 0..count.saturating_sub(1) {
        let a = mu.clone().slice([pair..pair + 1, 0..latent]);
        let b = mu.clone().slice([pair + 1..pair + 2, 0..latent]);
        for step in 0..STEPS {
            let t = step as f64 / (STEPS - 1) as f64;
            rows.push(a.clone() * (1.0 - t) + b.clone() * t);
        }
    }
    // PAIRS x STEPS latent points: [PAIRS STEPS, L]
    let images = to_host(model.picture(Tensor::cat(rows, 0)));
    let spec = GridSpec {
        columns: STEPS,
        ..DIGITS_GRID
    };
    save_grid(path, &images, spec)
}

/// Writes the [`LATENT_MAP`] into the run directory (2-D latent spaces only): the prior's
/// density as filled contours, and the posterior means mu(x) of the test digits on top, coloured
/// by their label: the aggregated posterior the prior should match.
pub fn save_latent_map(dir: &RunDir, model: &Vae, test: &Split, device: &Device) -> Result<()> {
    let all: Vec<usize> = (0..test.len()).collect();
    let (mu, _) = model.encode(test.rows(&all, device));
    let means = to_host(mu);
    let furthest = means.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    let extent = (furthest * 1.1).max(3.0).ceil();
    let cell = 2.0 * extent / RESOLUTION as f64;
    // Cell centres row by row from the bottom: [RESOLUTION^2, 2]
    let grid: Vec<f32> = (0..RESOLUTION * RESOLUTION)
        .flat_map(|i| {
            let (row, col) = (i / RESOLUTION, i % RESOLUTION);
            let x = -extent + (col as f64 + 0.5) * cell;
            let y = -extent + (row as f64 + 0.5) * cell;
            [x as f32, y as f32]
        })
        .collect();
    let z = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(grid, [RESOLUTION * RESOLUTION, 2]),
        device,
    );
    let log_density: Vec<f64> = to_host(model.log_prior(z))
        .into_iter()
        .map(f64::from)
        .collect();
    let points: Vec<(f64, f64, u8)> = means
        .chunks(2)
        .zip(&test.labels)
        .map(|(m, &label)| (m[0] as f64, m[1] as f64, label))
        .collect();
    density_with_points(
        &dir.path("latent.png"),
        "prior density and test posterior means",
        &log_density,
        RESOLUTION,
        extent,
        &points,
    )
}

/// `iw.png` and `iw.csv`: the importance-weighted NLL estimate of the test split against its
/// number of samples K (1, 2, 5, ... up to `max_k`), beside the test -ELBO, on a log scale of K.
/// The estimate falls from the ELBO at K = 1 towards the true NLL as K grows.
pub fn save_iw_curve(
    dir: &RunDir,
    model: &impl VariationalBound,
    test: &Split,
    max_k: usize,
    test_neg_elbo: f64,
    device: &Device,
) -> Result<()> {
    let mut csv = String::from("k,test_nll_iw\n");
    let mut curve = Vec::new();
    for k in IW_SAMPLES.into_iter().filter(|&k| k <= max_k) {
        let nll = nll_iw(model, test, k, device);
        csv.push_str(&format!("{k},{nll}\n"));
        curve.push(((k as f64).log10(), nll));
    }
    std::fs::write(dir.path("iw.csv"), csv)?;
    let last = curve.last().map_or(0.0, |p| p.0);
    let elbo = [(0.0, test_neg_elbo), (last, test_neg_elbo)];
    line_plot(
        &dir.path("iw.png"),
        "the importance-weighted bound against its samples",
        "log10 K",
        "nats per test image",
        &[
            ("importance-weighted NLL estimate", &curve),
            ("-ELBO", &elbo),
        ],
    )
}
