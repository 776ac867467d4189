//! Datasets and batching.
//!
//! The 8x8 digits of scikit-learn are the data of almost every Tomczak chapter: 1797 grey images,
//! 64 pixels with integer values 0..16, and a label. The books split them by row, without
//! shuffling: train = rows 0..999, validation = rows 1000..1349, test = rows 1350..1796.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use rand::seq::SliceRandom;
use sha2::{Digest, Sha256};

/// Pixels per digit image (8 x 8).
pub const DIGITS_DIM: usize = 64;
/// Side of a digit image.
pub const DIGITS_SIDE: usize = 8;
/// Grey levels per pixel (values 0..=16).
pub const DIGITS_LEVELS: usize = 17;
/// sha256 of `digits.csv.gz` as shipped in scikit-learn 1.9.1.
pub const DIGITS_SHA256: &str = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22";

const DIGITS_ROWS: usize = 1797;
const TRAIN_END: usize = 1000;
const VAL_END: usize = 1350;

/// The directory holding the datasets: `$DGM_DATASETS`, or `datasets/` of this workspace.
pub fn datasets_dir() -> PathBuf {
    std::env::var_os("DGM_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets"))
}

/// One split of a labelled image dataset, stored row-major in host memory.
#[derive(Clone, Debug)]
pub struct Split {
    /// Pixel values, `len * dim` of them, row after row.
    pub pixels: Vec<f32>,
    /// One label per row.
    pub labels: Vec<u8>,
    /// Values per row.
    pub dim: usize,
}

impl Split {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` rows (all of them if there are fewer).
    pub fn head(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            pixels: self.pixels[..n * self.dim].to_vec(),
            labels: self.labels[..n].to_vec(),
            dim: self.dim,
        }
    }

    /// The rows `indices` as a float tensor.
    ///
    /// # Shapes
    /// - returns: [indices.len(), dim]
    pub fn rows(&self, indices: &[usize], device: &Device) -> Tensor<2> {
        let mut values = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            values.extend_from_slice(&self.pixels[i * self.dim..(i + 1) * self.dim]);
        }
        Tensor::from_data(TensorData::new(values, [indices.len(), self.dim]), device)
    }

    /// The labels of the rows `indices` as integers.
    ///
    /// # Shapes
    /// - returns: [indices.len()]
    pub fn labels_of(&self, indices: &[usize], device: &Device) -> Tensor<1, Int> {
        let values: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        Tensor::from_data(TensorData::new(values, [indices.len()]), device)
    }

    /// Index batches in row order (evaluation); the last batch may be smaller.
    pub fn batches(&self, batch_size: usize) -> Vec<Vec<usize>> {
        batches(self.len(), batch_size)
    }

    /// Index batches of a fresh random permutation (one training epoch).
    pub fn shuffled_batches(&self, batch_size: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
        shuffled_batches(self.len(), batch_size, rng)
    }

    /// Sum of all pixel values (a checksum of the split).
    pub fn pixel_sum(&self) -> f64 {
        self.pixels.iter().map(|&v| v as f64).sum()
    }
}

/// What a training batch holds, gathered from rows of a split: the images alone, or the images
/// and their labels.
pub trait Batch {
    /// The batch of the rows `rows` of `split`.
    fn gather(split: &Split, rows: &[usize], device: &Device) -> Self;
}

/// The images x: [batch, dim].
impl Batch for Tensor<2> {
    fn gather(split: &Split, rows: &[usize], device: &Device) -> Tensor<2> {
        split.rows(rows, device)
    }
}

/// The images x: [batch, dim] and their labels y: [batch].
impl Batch for (Tensor<2>, Tensor<1, Int>) {
    fn gather(split: &Split, rows: &[usize], device: &Device) -> Self {
        (split.rows(rows, device), split.labels_of(rows, device))
    }
}

/// The indices 0..n in batches of `batch_size`, in order; the last batch may be smaller.
pub fn batches(n: usize, batch_size: usize) -> Vec<Vec<usize>> {
    (0..n)
        .collect::<Vec<_>>()
        .chunks(batch_size)
        .map(<[usize]>::to_vec)
        .collect()
}

/// The indices 0..n in a fresh random order, in batches of `batch_size`.
pub fn shuffled_batches(n: usize, batch_size: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order.chunks(batch_size).map(<[usize]>::to_vec).collect()
}

/// The digits in the books' three splits.
#[derive(Clone, Debug)]
pub struct Digits {
    pub train: Split,
    pub val: Split,
    pub test: Split,
}

impl Digits {
    /// Loads `datasets/digits/digits.csv.gz`, verifying its checksum.
    pub fn load() -> Result<Digits> {
        Digits::load_from(&datasets_dir().join("digits").join("digits.csv.gz"))
    }

    /// Loads the digits from `path`, verifying its checksum.
    pub fn load_from(path: &Path) -> Result<Digits> {
        let compressed = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the digits file {}: {e}\n\
                 It ships with the repository; restore it with `git checkout datasets/digits` \
                 or fetch it with `cargo xtask datasets fetch digits`.",
                path.display()
            )
        })?;
        let digest = format!("{:x}", Sha256::digest(&compressed));
        if digest != DIGITS_SHA256 {
            bail!(
                "the digits file {} is altered: sha256 {digest}, expected {DIGITS_SHA256}.\n\
                 Fetch a fresh copy with `cargo xtask datasets fetch digits`.",
                path.display()
            );
        }
        let mut csv = String::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_string(&mut csv)
            .with_context(|| format!("cannot decompress {}", path.display()))?;
        let all = parse_digits_csv(&csv)?;
        Ok(Digits {
            train: all.slice_rows(0, TRAIN_END),
            val: all.slice_rows(TRAIN_END, VAL_END),
            test: all.slice_rows(VAL_END, DIGITS_ROWS),
        })
    }
}

impl Split {
    fn slice_rows(&self, start: usize, end: usize) -> Split {
        Split {
            pixels: self.pixels[start * self.dim..end * self.dim].to_vec(),
            labels: self.labels[start..end].to_vec(),
            dim: self.dim,
        }
    }
}

/// Parses rows of 64 pixel values then a label.
fn parse_digits_csv(csv: &str) -> Result<Split> {
    let mut pixels = Vec::with_capacity(DIGITS_ROWS * DIGITS_DIM);
    let mut labels = Vec::with_capacity(DIGITS_ROWS);
    for (line_no, line) in csv.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let values: Vec<u8> = line
            .split(',')
            .map(|v| v.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("digits line {}: not integers", line_no + 1))?;
        ensure!(
            values.len() == DIGITS_DIM + 1,
            "digits line {}: {} values, expected {}",
            line_no + 1,
            values.len(),
            DIGITS_DIM + 1
        );
        pixels.extend(values[..DIGITS_DIM].iter().map(|&v| v as f32));
        labels.push(values[DIGITS_DIM]);
    }
    ensure!(
        labels.len() == DIGITS_ROWS,
        "digits: {} rows, expected {DIGITS_ROWS}",
        labels.len()
    );
    Ok(Split {
        pixels,
        labels,
        dim: DIGITS_DIM,
    })
}

// ANCHOR: unit_scale
/// The scale of the diffusion, score and GAN examples: x / 17 * 2 - 1, so the 17 levels lie in
/// [-1, 0.882].
pub fn to_unit_scale(x: Tensor<2>) -> Tensor<2> {
    x / DIGITS_LEVELS as f64 * 2.0 - 1.0
}

/// Back to the digits' scale for pictures and scores: (x + 1) / 2 * 17, clamped to 0..16.
pub fn to_digit_scale(x: Tensor<2>) -> Tensor<2> {
    ((x + 1.0) * (DIGITS_LEVELS as f64 / 2.0)).clamp(0.0, (DIGITS_LEVELS - 1) as f64)
}
// ANCHOR_END: unit_scale

/// Two interleaving half circles with Gaussian noise, as scikit-learn's `make_moons`.
///
/// The upper moon (label 0) is (cos t, sin t) and the lower (label 1) is
/// (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi]; then the points are shuffled and
/// N(0, noise^2) is added to each coordinate. `n / 2` points on the upper moon, the rest below.
pub fn two_moons(n: usize, noise: f64, rng: &mut impl Rng) -> Split {
    let upper = n / 2;
    let lower = n - upper;
    let angle =
        |i: usize, count: usize| std::f64::consts::PI * i as f64 / (count.max(2) - 1) as f64;
    let mut points: Vec<([f64; 2], u8)> = (0..upper)
        .map(|i| ([angle(i, upper).cos(), angle(i, upper).sin()], 0))
        .chain((0..lower).map(|i| {
            let t = angle(i, lower);
            ([1.0 - t.cos(), 0.5 - t.sin()], 1)
        }))
        .collect();
    points.shuffle(rng);
    let mut pixels = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for ([x, y], label) in points {
        pixels.push((x + noise * standard_normal(rng)) as f32);
        pixels.push((y + noise * standard_normal(rng)) as f32);
        labels.push(label);
    }
    Split {
        pixels,
        labels,
        dim: 2,
    }
}

/// One draw from N(0, 1) by the Box-Muller transform: sqrt(-2 ln u1) cos(2 pi u2).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    // u1 in (0, 1] keeps the log finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Writes a float32 array in NumPy's `.npy` format (version 1.0), readable by `numpy.load`.
pub fn write_npy(path: &Path, values: &[f32], shape: &[usize]) -> Result<()> {
    ensure!(
        shape.iter().product::<usize>() == values.len(),
        "npy: shape {shape:?} does not hold {} values",
        values.len()
    );
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');

    let mut file =
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(b"\x93NUMPY\x01\x00")?;
    file.write_all(&(header.len() as u16).to_le_bytes())?;
    file.write_all(header.as_bytes())?;
    for v in values {
        file.write_all(&v.to_le_bytes())?;
    }
    Ok(())
}

/// Copies a tensor's values to host memory as f32, row-major.
pub fn to_host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .try_into_vec_as::<f32>()
        .expect("reading a float tensor back from its device")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_split_sizes_and_checksums_match_the_reference() {
        let digits = Digits::load().unwrap();
        assert_eq!(
            (digits.train.len(), digits.val.len(), digits.test.len()),
            (1000, 350, 447)
        );
        assert_eq!(digits.train.pixel_sum(), 314_334.0);
        assert_eq!(digits.val.pixel_sum(), 108_404.0);
        assert_eq!(digits.test.pixel_sum(), 138_980.0);
        assert_eq!(digits.train.labels[0], 0);
        assert_eq!(
            &digits.train.pixels[..8],
            &[0., 0., 5., 13., 9., 1., 0., 0.]
        );
        assert_eq!(digits.test.labels[0], 3);
        assert_eq!(
            &digits.test.pixels[..8],
            &[0., 0., 10., 16., 16., 10., 1., 0.]
        );
        let mut counts = [0; 10];
        for &y in &digits.test.labels {
            counts[y as usize] += 1;
        }
        assert_eq!(counts, [43, 46, 43, 45, 48, 45, 47, 44, 41, 45]);
    }

    #[test]
    fn an_altered_digits_file_is_refused_with_the_fetch_command() {
        let path = std::env::temp_dir().join(format!("altered-digits-{}.gz", std::process::id()));
        let mut bytes = std::fs::read(datasets_dir().join("digits/digits.csv.gz")).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let err = Digits::load_from(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("altered"), "{err}");
        assert!(err.contains("cargo xtask datasets fetch digits"), "{err}");
    }

    #[test]
    fn a_missing_digits_file_names_the_fetch_command() {
        let err = Digits::load_from(Path::new("/nonexistent/digits.csv.gz"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cargo xtask datasets fetch digits"), "{err}");
    }

    #[test]
    fn shuffled_batches_cover_every_row_once() {
        let split = Split {
            pixels: vec![0.0; 130 * 2],
            labels: vec![0; 130],
            dim: 2,
        };
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
        let batches = split.shuffled_batches(64, &mut rng);
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [64, 64, 2]
        );
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, (0..130).collect::<Vec<_>>());
    }

    #[test]
    fn two_moons_lie_on_their_half_circles() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let moons = two_moons(1001, 0.0, &mut rng);
        assert_eq!((moons.len(), moons.dim), (1001, 2));
        assert_eq!(moons.labels.iter().filter(|&&l| l == 0).count(), 500);
        for (point, &label) in moons.pixels.chunks(2).zip(&moons.labels) {
            let (x, y) = (point[0] as f64, point[1] as f64);
            // Distance from the moon's centre: (0, 0) above, (1, 1/2) below.
            let (cx, cy) = if label == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            assert!(
                ((x - cx).hypot(y - cy) - 1.0).abs() < 1e-5,
                "({x}, {y}) label {label}"
            );
            assert!(if label == 0 {
                y >= -1e-6
            } else {
                y <= 0.5 + 1e-6
            });
        }
        let noisy = two_moons(20000, 0.1, &mut rng);
        let spread: f64 = noisy
            .pixels
            .chunks(2)
            .zip(&noisy.labels)
            .map(|(p, &l)| {
                let (cx, cy) = if l == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
                ((p[0] as f64 - cx).hypot(p[1] as f64 - cy) - 1.0).powi(2)
            })
            .sum::<f64>()
            / 20000.0;
        // The radial part of 2-D noise of sd 0.1 has a mean square close to 0.1^2.
        assert!((spread.sqrt() - 0.1).abs() < 0.01, "rms {}", spread.sqrt());
    }

    #[test]
    fn npy_header_is_aligned_and_data_follows() {
        let path = std::env::temp_dir().join(format!("npy-{}.npy", std::process::id()));
        write_npy(&path, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)"), "{header}");
        let data = &bytes[10 + header_len..];
        assert_eq!(data.len(), 24);
        assert_eq!(f32::from_le_bytes(data[20..24].try_into().unwrap()), 6.0);
    }
}
