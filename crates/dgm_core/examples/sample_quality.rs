//! The scale of the sample-quality scores: the classifier's test accuracy, the floor that real
//! digits reach and the ceiling of uniform noise.
//!
//! `cargo run --release -p dgm_core --example sample_quality`

use anyhow::Result;
use burn::tensor::{Device, Distribution, Tensor};
use dgm_core::data::{DIGITS_DIM, DIGITS_LEVELS, Digits};
use dgm_core::quality::{FixedClassifier, SAMPLES, sample_quality};

fn main() -> Result<()> {
    let device = Device::flex();
    let digits = Digits::load()?;
    let trained = FixedClassifier::load_or_train(&digits, &device)?;
    println!("classifier test accuracy: {:.4}", trained.test_accuracy);
    let all: Vec<usize> = (0..digits.val.len()).collect();
    let real = sample_quality(
        &trained.classifier,
        digits.val.rows(&all, &device),
        &digits.test,
        &device,
    );
    println!(
        "validation digits ({}): sample_fd {:.3}, sample_confidence {:.3}",
        digits.val.len(),
        real.fd,
        real.confidence
    );
    let first: Vec<usize> = (0..SAMPLES).collect();
    let train = sample_quality(
        &trained.classifier,
        digits.train.rows(&first, &device),
        &digits.test,
        &device,
    );
    println!(
        "training digits ({SAMPLES}): sample_fd {:.3}, sample_confidence {:.3}",
        train.fd, train.confidence
    );
    device.seed(0);
    let noise = Tensor::<2>::random(
        [SAMPLES, DIGITS_DIM],
        Distribution::Uniform(0.0, DIGITS_LEVELS as f64),
        &device,
    )
    .floor();
    let noise = sample_quality(&trained.classifier, noise, &digits.test, &device);
    println!(
        "uniform noise ({SAMPLES}): sample_fd {:.3}, sample_confidence {:.3}",
        noise.fd, noise.confidence
    );
    Ok(())
}
