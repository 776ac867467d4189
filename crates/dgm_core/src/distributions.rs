//! Log-densities used by several chapters, each returned per example (summed over dimensions).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Probabilities are clamped to [EPS, 1 - EPS] before the log, as in the books' helpers, so that
/// one confident wrong prediction cannot give an infinite loss.
pub const EPS: f64 = 1e-5;

/// log Cat(x | softmax(logits)) summed over dimensions.
///
/// log p(x) = sum_d log clamp(softmax(logits_d)[x_d], EPS, 1 - EPS)
///
/// # Shapes
/// - x: [batch, dims], integer values in 0..categories
/// - logits: [batch, dims, categories]
/// - returns: [batch]
pub fn log_categorical(x: Tensor<2, Int>, logits: Tensor<3>) -> Tensor<1> {
    let [batch, _, _] = logits.dims();
    // log clamp(p, EPS, 1 - EPS) = clamp(log p, log EPS, log(1 - EPS)); log_softmax is the stable form.
    let log_p = log_softmax(logits, 2).clamp(EPS.ln(), (1.0 - EPS).ln());
    // Pick log p(x_d) for every dimension: [batch, dims, 1].
    let log_p_x = log_p.gather(2, x.unsqueeze_dim(2));
    // [batch, dims, 1] -> [batch]
    log_p_x.sum_dim(1).reshape([batch])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn log_categorical_matches_a_hand_computed_value() {
        let device = Device::flex();
        // Two pixels, three categories. Pixel 1: logits (0, 0, ln 2) -> p = (1/4, 1/4, 1/2).
        // Pixel 2: logits (ln 3, 0, 0) -> p = (3/5, 1/5, 1/5).
        let logits = Tensor::<3>::from_data(
            TensorData::new(vec![0.0, 0.0, 2f32.ln(), 3f32.ln(), 0.0, 0.0], [1, 2, 3]),
            &device,
        );
        let x = Tensor::<2, Int>::from_data(TensorData::new(vec![2i64, 1], [1, 2]), &device);
        let got: f32 = log_categorical(x, logits).into_scalar();
        // log(1/2) + log(1/5)
        let expected = 0.5f32.ln() + 0.2f32.ln();
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    #[test]
    fn log_categorical_clamps_tiny_probabilities() {
        let device = Device::flex();
        let logits =
            Tensor::<3>::from_data(TensorData::new(vec![0.0f32, 100.0], [1, 1, 2]), &device);
        let x = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64], [1, 1]), &device);
        let got: f32 = log_categorical(x, logits).into_scalar();
        assert!((got - (EPS as f32).ln()).abs() < 1e-4, "{got}");
    }
}
