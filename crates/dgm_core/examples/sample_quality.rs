//! The scale of the sample-quality scores: the classifier's test accuracy, the floor that real
//! digits reach and the ceiling of uniform noise.
//!
//! `cargo run --release -p dgm_core --example sample_quality`

use anyhow::Result;
use burn::tensor::{Device, Distribution, Tensor};
use dgm_core::data::{DIGITS_DIM, DIGITS_LEVELS, Digits, Split};
use dgm_core::quality::{FixedClassifier, SAMPLES, sample_quality};

fn main() -> Result<()> {
    let device = Device::flex();
    let digits = Digits::load()?;
    let trained = FixedClassifier::load_or_train(&digits, &device)?;
    println!("classifier test accuracy: {:.4}", trained.test_accuracy);
    // Scores `images` as if a model had drawn them, and prints them after `what`.
    let print_scores = |what: &str, images: Tensor<2>| {
        let quality = sample_quality(&trained.classifier, images, &digits.test, &device);
        println!(
            "{what}: sample_fd {:.3}, sample_confidence {:.3}",
            quality.fd, quality.confidence
        );
    };
    // Every image of `split`, in one batch.
    let images = |split: &Split| {
        let all: Vec<usize> = (0..split.len()).collect();
        split.rows(&all, &device)
    };
    let validation = images(&digits.val);
    print_scores(
        &format!("validation digits ({})", digits.val.len()),
        validation,
    );
    let training = images(&digits.train.head(SAMPLES));
    print_scores(&format!("training digits ({SAMPLES})"), training);
    device.seed(0);
    let noise = Tensor::<2>::random(
        [SAMPLES, DIGITS_DIM],
        Distribution::Uniform(0.0, DIGITS_LEVELS as f64),
        &device,
    )
    .floor();
    print_scores(&format!("uniform noise ({SAMPLES})"), noise);
    Ok(())
}
