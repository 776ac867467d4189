//! A hybrid model: one integer flow z = f(x) serves two heads, a density p(x) = P_Z(f(x)) and a
//! classifier p(y | z). Trained on
//!
//! -log p(y | x) - alpha log p(x),
//!
//! the classifier sees features that must also explain the images, and the flow's likelihood
//! says how typical an input is, which a plain classifier cannot.
//!
//! The flow stacks its couplings with chapter 3's reversals (`ch03_flows::reversal`), keeps its
//! prior as chapter 3's integer discrete flow (`ch03_flows::idf::Idf`) does, and rounds with
//! chapter 3's `round_straight_through`; its coupling is the book's gated two-way one, not
//! chapter 3's coupling of B blocks, so `Idf` itself cannot serve here.

use burn::module::Param;
use burn::prelude::*;
use ch03_flows::idf::round_straight_through;
use ch03_flows::reversal;
use dgm_core::distributions::{
    cross_entropy, log_discretized_logistic, sample_discretized_logistic,
};
use dgm_core::nn::{Activation, Init, Mlp};

use crate::config::HybridConfig;

// ANCHOR: coupling
/// The classic two-way integer coupling with a learned gate beta (the book's; beta starts at 0,
/// so the flow starts as the identity): x = (x_a, x_b),
///
/// y_a = x_a,   y_b = x_b + round(beta t(x_a)).
///
/// The rounding keeps y an integer vector; the inverse subtracts the same translation.
#[derive(Module, Debug)]
pub struct GatedCoupling {
    /// t: D/2 -> hidden -> hidden -> D/2 with LeakyReLU.
    translation: Mlp,
    /// beta: [1], starts at 0.
    beta: Param<Tensor<1>>,
}

impl GatedCoupling {
    pub fn new(config: &HybridConfig, device: &Device) -> GatedCoupling {
        let (half, m) = (config.dim / 2, config.hidden);
        GatedCoupling {
            translation: Mlp::new(
                &[half, m, m, half],
                Activation::LeakyRelu,
                Activation::Identity,
                Init::PyTorch,
                device,
            ),
            beta: Param::from_tensor(Tensor::zeros([1], device)),
        }
    }

    /// round(beta t(x_a)).
    ///
    /// # Shapes
    /// - x_a: [batch, D/2]
    /// - returns: [batch, D/2]
    fn shift(&self, x_a: Tensor<2>) -> Tensor<2> {
        // [1] -> [1, 1], broadcast over the batch and the dimensions
        let beta = self.beta.val().unsqueeze_dim::<2>(0);
        round_straight_through(self.translation.forward(x_a) * beta)
    }

    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch, D]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [x_a, x_b] = <[Tensor<2>; 2]>::try_from(x.chunk(2, 1)).expect("two halves");
        let y_b = x_b + self.shift(x_a.clone());
        Tensor::cat(vec![x_a, y_b], 1)
    }

    /// # Shapes
    /// - y: [batch, D]
    /// - returns: [batch, D]
    pub fn inverse(&self, y: Tensor<2>) -> Tensor<2> {
        let [y_a, y_b] = <[Tensor<2>; 2]>::try_from(y.chunk(2, 1)).expect("two halves");
        let x_b = y_b - self.shift(y_a.clone());
        Tensor::cat(vec![y_a, x_b], 1)
    }
}
// ANCHOR_END: coupling

// ANCHOR: model
/// The flow (couplings with the dimensions reversed after each), its discretised-logistic
/// prior, and the classifier on z: D -> hidden -> hidden -> classes with LeakyReLU.
#[derive(Module, Debug)]
pub struct Hybrid {
    couplings: Vec<GatedCoupling>,
    /// mu of the prior: [1, D], starts at 0.
    mean: Param<Tensor<2>>,
    /// log s of the prior: [1, D], starts at 1.
    log_scale: Param<Tensor<2>>,
    classifier: Mlp,
}

/// What one pass through the model gives for a batch.
pub struct Outputs {
    /// log p(x): [batch]
    pub log_prob: Tensor<1>,
    /// The classifier's logits: [batch, classes]
    pub logits: Tensor<2>,
}

impl Hybrid {
    pub fn new(config: &HybridConfig, device: &Device) -> Hybrid {
        let (d, m) = (config.dim, config.hidden);
        Hybrid {
            couplings: (0..config.flows)
                .map(|_| GatedCoupling::new(config, device))
                .collect(),
            mean: Param::from_tensor(Tensor::zeros([1, d], device)),
            log_scale: Param::from_tensor(Tensor::ones([1, d], device)),
            classifier: Mlp::new(
                &[d, m, m, config.classes],
                Activation::LeakyRelu,
                Activation::Identity,
                Init::PyTorch,
                device,
            ),
        }
    }

    /// z = f(x), integers to integers.
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch, D]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        reversal::forward(&self.couplings, x, GatedCoupling::forward)
    }

    /// x = f^-1(z), exactly.
    ///
    /// # Shapes
    /// - z: [batch, D]
    /// - returns: [batch, D]
    pub fn inverse(&self, z: Tensor<2>) -> Tensor<2> {
        reversal::inverse(&self.couplings, z, GatedCoupling::inverse)
    }

    /// log p(x) = log P_Z(f(x)) and the classifier's logits on f(x), from one pass.
    ///
    /// # Shapes
    /// - x: [batch, D], integers 0..16 stored as floats
    pub fn outputs(&self, x: Tensor<2>) -> Outputs {
        let z = self.forward(x);
        Outputs {
            log_prob: log_discretized_logistic(z.clone(), self.mean.val(), self.log_scale.val()),
            logits: self.classifier.forward(z),
        }
    }

    /// n images: z from the prior, then x = f^-1(z).
    ///
    /// # Shapes
    /// - returns: [n, D], integers stored as floats (not clamped to the data's range)
    pub fn sample(&self, n: usize) -> Tensor<2> {
        let z = sample_discretized_logistic(self.mean.val(), self.log_scale.val(), n);
        self.inverse(z)
    }
}
// ANCHOR_END: model

// ANCHOR: loss
/// The two terms of the book's loss per image: the cross-entropy -log p(y | x) and the
/// negative log-likelihood -log p(x); the objective is their sum with -log p(x) weighted by
/// alpha.
///
/// # Shapes
/// - y: [batch]
/// - returns: ([batch] cross-entropy, [batch] -log p(x))
pub fn hybrid_terms(outputs: Outputs, y: Tensor<1, Int>) -> (Tensor<1>, Tensor<1>) {
    (cross_entropy(outputs.logits, y), outputs.log_prob.neg())
}
// ANCHOR_END: loss

/// The training loss: the batch mean of the objective -log p(y | x) - alpha log p(x).
///
/// # Shapes
/// - x: [batch, D], integers 0..16 stored as floats; y: [batch]
pub fn train_loss(model: &Hybrid, x: Tensor<2>, y: Tensor<1, Int>, alpha: f64) -> Tensor<1> {
    let (classification, nll) = hybrid_terms(model.outputs(x), y);
    (classification + nll * alpha).mean()
}
