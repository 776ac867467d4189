//! Log-densities used by several chapters, each returned per example (summed over dimensions).

use std::f64::consts::PI;

use burn::tensor::activation::{log_sigmoid, log_softmax, softmax};
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

/// One draw per dimension from Cat(softmax(logits)).
///
/// # Shapes
/// - logits: [batch, dims, categories]
/// - returns: [batch, dims], the drawn categories as floats
pub fn sample_categorical(logits: Tensor<3>) -> Tensor<2> {
    let [batch, dims, categories] = logits.dims();
    // [batch, dims, K] -> [batch dims, K] -> one draw each [batch dims, 1] -> [batch, dims]
    let probs = softmax(logits.reshape([batch * dims, categories]), 1);
    probs.categorical(1).float().reshape([batch, dims])
}

/// The mean of Cat(softmax(logits)) over the categories 0..K-1: sum_k k p_k.
///
/// # Shapes
/// - logits: [batch, dims, categories]
/// - returns: [batch, dims]
pub fn categorical_mean(logits: Tensor<3>) -> Tensor<2> {
    let [batch, dims, categories] = logits.dims();
    let values = Tensor::<1, Int>::arange(0..categories as i64, &logits.device())
        .float()
        .reshape([1, 1, categories]);
    // [batch, dims, K] -> [batch, dims, 1] -> [batch, dims]
    (softmax(logits, 2) * values)
        .sum_dim(2)
        .reshape([batch, dims])
}

/// log N(z; 0, I) summed over dimensions.
///
/// log p(z) = -D/2 ln(2 pi) - 1/2 sum_d z_d^2
///
/// # Shapes
/// - z: [batch, dims]
/// - returns: [batch]
pub fn log_standard_normal(z: Tensor<2>) -> Tensor<1> {
    let [batch, dims] = z.dims();
    let log_norm = -0.5 * dims as f64 * (2.0 * PI).ln();
    // [batch, dims] -> [batch, 1] -> [batch]
    (z.powi_scalar(2).sum_dim(1) * -0.5 + log_norm).reshape([batch])
}

/// log N(z; mu, diag(exp(log_var))) summed over dimensions.
///
/// log p(z) = -D/2 ln(2 pi) - 1/2 sum_d [log_var_d + (z_d - mu_d)^2 / exp(log_var_d)]
///
/// # Shapes
/// - z, mu, log_var: [batch, dims] (mu and log_var may broadcast from [1, dims])
/// - returns: [batch]
pub fn log_normal_diag(z: Tensor<2>, mu: Tensor<2>, log_var: Tensor<2>) -> Tensor<1> {
    let [batch, dims] = z.dims();
    let log_norm = -0.5 * dims as f64 * (2.0 * PI).ln();
    let squared = (z - mu).powi_scalar(2) * log_var.clone().neg().exp();
    // [batch, dims] -> [batch, 1] -> [batch]
    ((log_var + squared).sum_dim(1) * -0.5 + log_norm).reshape([batch])
}

/// KL(N(mu_q, diag var_q) || N(mu_p, diag var_p)) in closed form, summed over dimensions.
///
/// KL = 1/2 sum_d [log var_p - log var_q + (var_q + (mu_q - mu_p)^2) / var_p - 1]
///
/// # Shapes
/// - all: [batch, dims] (the p side may broadcast from [1, dims])
/// - returns: [batch]
pub fn kl_normal_diag(
    mu_q: Tensor<2>,
    log_var_q: Tensor<2>,
    mu_p: Tensor<2>,
    log_var_p: Tensor<2>,
) -> Tensor<1> {
    let [batch, _] = mu_q.dims();
    let var_ratio = (log_var_q.clone() - log_var_p.clone()).exp();
    let mean_term = (mu_q - mu_p).powi_scalar(2) * log_var_p.clone().neg().exp();
    let kl = (log_var_p - log_var_q + var_ratio + mean_term - 1.0) * 0.5;
    // [batch, dims] -> [batch, 1] -> [batch]
    kl.sum_dim(1).reshape([batch])
}

/// log of the discretised logistic probability of integers, summed over dimensions.
///
/// P(x) = sigmoid((x + 1/2 - mu) / s) - sigmoid((x - 1/2 - mu) / s), s = exp(log_scale),
/// the mass the logistic density puts on [x - 1/2, x + 1/2]. Over all integers these telescope
/// to 1. Computed from log-sigmoids a and b of the two edges as a + log(1 - exp(b - a) + 1e-8),
/// the books' stable form (the 1e-8 keeps the log finite where both edges saturate).
///
/// # Shapes
/// - x: [batch, dims], integer values stored as floats
/// - mean, log_scale: [1, dims] (broadcast over the batch)
/// - returns: [batch]
pub fn log_discretized_logistic(x: Tensor<2>, mean: Tensor<2>, log_scale: Tensor<2>) -> Tensor<1> {
    let [batch, _] = x.dims();
    let inv_scale = log_scale.neg().exp();
    let centred = x - mean;
    let a = log_sigmoid((centred.clone() + 0.5) * inv_scale.clone());
    let b = log_sigmoid((centred - 0.5) * inv_scale);
    // log(sigmoid_a - sigmoid_b) = a + log(1 - exp(b - a))
    let log_p = a.clone() + ((b - a).exp().neg() + 1.0 + 1e-8).log();
    // [batch, dims] -> [batch, 1] -> [batch]
    log_p.sum_dim(1).reshape([batch])
}

/// n draws from the factorised discretised logistic: the inverse CDF of the logistic,
/// mu + s log(u / (1 - u)) with u uniform, rounded to the nearest integer.
///
/// # Shapes
/// - mean, log_scale: [1, D]
/// - returns: [n, D], integers stored as floats
pub fn sample_discretized_logistic(mean: Tensor<2>, log_scale: Tensor<2>, n: usize) -> Tensor<2> {
    let [_, dim] = mean.dims();
    let u = Tensor::<2>::random(
        [n, dim],
        burn::tensor::Distribution::Uniform(1e-6, 1.0 - 1e-6),
        &mean.device(),
    );
    let logistic = (u.clone() / (u.neg() + 1.0)).log();
    (logistic * log_scale.exp() + mean).round()
}

/// -log softmax(logits)[label] of every row: the classifier's cross-entropy per example.
///
/// # Shapes
/// - logits: [n, classes]; labels: [n]
/// - returns: [n]
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [n, _] = logits.dims();
    // [n, classes] -> the label's column [n, 1] -> [n]
    log_softmax(logits, 1)
        .gather(1, labels.reshape([n, 1]))
        .neg()
        .reshape([n])
}

/// log sum_i exp(x_i) along `dim` (kept, with size 1), computed as m + log sum_i exp(x_i - m)
/// with m the maximum, so that no exp overflows. burn has no logsumexp.
pub fn log_sum_exp<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    // The maximum only shifts the computation: no gradient flows through it.
    let max = x.clone().max_dim(dim).detach();
    (x - max.clone()).exp().sum_dim(dim).log() + max
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn categorical_mean_and_samples() {
        let device = Device::flex();
        // One pixel with p = (1/4, 1/4, 1/2): mean 0/4 + 1/4 + 2/2 = 1.25; one certain pixel.
        let logits = Tensor::<3>::from_data(
            TensorData::new(vec![0.0, 0.0, 2f32.ln(), -50.0, 50.0, -50.0], [1, 2, 3]),
            &device,
        );
        let mean = crate::data::to_host(categorical_mean(logits.clone()));
        assert!(
            (mean[0] - 1.25).abs() < 1e-5 && (mean[1] - 1.0).abs() < 1e-5,
            "{mean:?}"
        );
        let draws = crate::data::to_host(sample_categorical(logits));
        assert!(
            draws[0] <= 2.0 && draws[0].fract() == 0.0 && draws[1] == 1.0,
            "{draws:?}"
        );
    }

    #[test]
    fn standard_normal_matches_the_formula() {
        let device = Device::flex();
        let z = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 1.0, -2.0], [1, 3]), &device);
        let got: f32 = log_standard_normal(z).into_scalar();
        let expected = -1.5 * (2.0 * std::f32::consts::PI).ln() - 0.5 * 5.0;
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    #[test]
    fn normal_log_density_matches_the_formula() {
        let device = Device::flex();
        let z = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -1.0], [1, 2]), &device);
        let mu = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 0.0], [1, 2]), &device);
        let log_var =
            Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 2f32.ln()], [1, 2]), &device);
        let got: f32 = log_normal_diag(z, mu, log_var).into_scalar();
        // N(1; 0.5, 1) N(-1; 0, 2)
        let two_pi = 2.0 * std::f32::consts::PI;
        let expected = -0.5 * two_pi.ln() - 0.125 - 0.5 * (two_pi * 2.0).ln() - 0.25;
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    #[test]
    fn kl_closed_form_matches_a_monte_carlo_estimate() {
        use rand::SeedableRng;
        let device = Device::flex();
        let tensor = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [1, 2]), &device);
        let (mu_q, log_var_q) = (vec![0.3f32, -1.0], vec![-0.5f32, 0.4]);
        let (mu_p, log_var_p) = (vec![0.0f32, 0.5], vec![0.2f32, -0.3]);
        let closed: f32 = kl_normal_diag(
            tensor(mu_q.clone()),
            tensor(log_var_q.clone()),
            tensor(mu_p.clone()),
            tensor(log_var_p.clone()),
        )
        .into_scalar();
        // E_q[log q(z) - log p(z)] from 200,000 draws of q.
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let n = 200_000;
        let draws: Vec<f32> = (0..n)
            .flat_map(|_| {
                (0..2)
                    .map(|d| {
                        let sd = (0.5 * log_var_q[d]).exp();
                        mu_q[d] + sd * crate::data::standard_normal(&mut rng) as f32
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let z = Tensor::<2>::from_data(TensorData::new(draws, [n, 2]), &device);
        let log_q = log_normal_diag(z.clone(), tensor(mu_q), tensor(log_var_q));
        let log_p = log_normal_diag(z, tensor(mu_p), tensor(log_var_p));
        let estimate: f32 = (log_q - log_p).mean().into_scalar();
        assert!(
            (closed - estimate).abs() < 0.01,
            "closed {closed} vs MC {estimate}"
        );
    }

    #[test]
    fn log_sum_exp_is_stable_and_exact() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![1000.0f32, 1000.0, 0.0, 2f32.ln()], [2, 2]),
            &device,
        );
        let got = crate::data::to_host(log_sum_exp(x, 1));
        // log(2 e^1000) = 1000 + ln 2; log(1 + 2) = ln 3.
        assert!((got[0] - (1000.0 + 2f32.ln())).abs() < 1e-3, "{got:?}");
        assert!((got[1] - 3f32.ln()).abs() < 1e-6, "{got:?}");
    }

    #[test]
    fn discretized_logistic_sums_to_one_over_the_integers() {
        let device = Device::flex();
        for (mean, log_scale) in [(0.0f32, 1.0f32), (3.3, 0.2), (-7.5, 2.5)] {
            // Every integer from -2000 to 2000 as one dimension of one batch row each.
            let n = 4001;
            let x: Vec<f32> = (0..n).map(|i| i as f32 - 2000.0).collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [n, 1]), &device);
            let mean = Tensor::<2>::full([1, 1], mean, &device);
            let log_scale = Tensor::<2>::full([1, 1], log_scale, &device);
            let p = log_discretized_logistic(x, mean, log_scale).exp();
            let total: f64 = crate::data::to_host(p).iter().map(|&v| v as f64).sum();
            // Each of the 4001 bins carries the 1e-8 of the stable form at most.
            assert!((total - 1.0).abs() < 1e-4, "total {total}");
        }
    }

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
