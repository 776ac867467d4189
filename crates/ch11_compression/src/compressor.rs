//! Learned lossy compression (Ballé et al., 2017, in the book's small form): an encoder maps an
//! image to a short code, a quantiser snaps every code value to one of E codebook entries (the
//! symbols that are stored), a decoder reconstructs the image, and an entropy model gives the
//! symbols the probabilities an entropy coder turns into bits. Training trades distortion
//! against rate,
//!
//! loss = distortion + beta rate,
//!
//! with the rate the cross-entropy of the symbols under the entropy model.

use burn::module::Param;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{log_softmax, relu, softmax};
use ch02_arm::arm::causal_logits;
use ch02_arm::causal_conv::CausalConv1d;
use dgm_core::fused::linear_layer;

use crate::config::{CompressionConfig, EntropyKind};

// ANCHOR: coder_nets
/// Linear layers with BatchNorm and ReLU after every one but the last: the book's encoder and
/// decoder.
#[derive(Module, Debug)]
pub struct BnMlp {
    layers: Vec<Linear>,
    norms: Vec<BatchNorm>,
}

impl BnMlp {
    pub fn new(widths: &[usize], device: &Device) -> BnMlp {
        BnMlp {
            layers: widths
                .windows(2)
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
            norms: widths[1..widths.len() - 1]
                .iter()
                .map(|&w| BatchNormConfig::new(w).init(device))
                .collect(),
        }
    }

    /// Numbers of the BatchNorm running means and variances: state, not trained parameters,
    /// though burn's `num_params` counts them.
    pub fn running_statistics(&self) -> usize {
        self.norms.iter().map(|norm| 2 * norm.gamma.dims()[0]).sum()
    }

    /// # Shapes
    /// - x: [batch, widths[0]]
    /// - returns: [batch, widths[last]]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for (layer, norm) in self.layers.iter().zip(&self.norms) {
            h = relu(norm.forward(linear_layer(layer, h)));
        }
        linear_layer(self.layers.last().expect("a net has a layer"), h)
    }
}
// ANCHOR_END: coder_nets

// ANCHOR: quantiser
/// A scalar codebook of E learnable values, started uniform in [-1/8, 1/8].
#[derive(Module, Debug)]
pub struct Codebook {
    /// c: [E]
    values: Param<Tensor<1>>,
}

impl Codebook {
    pub fn new(entries: usize, device: &Device) -> Codebook {
        let values = Tensor::random([entries], Distribution::Uniform(-0.125, 0.125), device);
        Codebook {
            values: Param::from_tensor(values),
        }
    }

    /// The symbol of every code value: the index of the nearest codebook entry.
    ///
    /// # Shapes
    /// - z: [batch, C]
    /// - returns: [batch, C]
    pub fn symbols(&self, z: Tensor<2>) -> Tensor<2, Int> {
        let [batch, c] = z.dims();
        let [e] = self.values.dims();
        // |z - c_k| for every value and entry: [batch, C, 1] - [1, 1, E] -> [batch, C, E]
        let distance = (z.unsqueeze_dim::<3>(2) - self.values.val().reshape([1, 1, e])).abs();
        // [batch, C, E] -> [batch, C, 1] -> [batch, C]
        distance.argmin(2).reshape([batch, c])
    }

    /// The codebook values of symbols.
    ///
    /// # Shapes
    /// - symbols: [batch, C]
    /// - returns: [batch, C]
    pub fn lookup(&self, symbols: Tensor<2, Int>) -> Tensor<2> {
        let [batch, c] = symbols.dims();
        // [batch, C] -> [batch C] -> select -> [batch, C]
        self.values
            .val()
            .select(0, symbols.reshape([batch * c]))
            .reshape([batch, c])
    }

    /// z snapped to its nearest entries. The value is c_k; the gradient reaches the chosen
    /// entries through the lookup and the encoder through the straight-through term z - z, which
    /// is 0 forwards and the identity backwards.
    ///
    /// The assignment of each value to the entries is one-hot forwards; backwards it is the soft
    /// assignment softmax_k(-|z - c_k|), so that the rate, a cross-entropy of the assignment,
    /// tells the encoder which way a value should move to become cheaper.
    ///
    /// # Shapes
    /// - z: [batch, C]
    pub fn quantise(&self, z: Tensor<2>) -> Quantised {
        let [batch, c] = z.dims();
        let [e] = self.values.dims();
        let symbols = self.symbols(z.clone());
        let values = self.lookup(symbols.clone()) + (z.clone() - z.clone().detach());
        // -|z - c_k|: [batch, C, 1] - [1, 1, E] -> [batch, C, E]
        let similarity = (z.unsqueeze_dim::<3>(2) - self.values.val().reshape([1, 1, e]))
            .abs()
            .neg();
        let soft = softmax(similarity, 2);
        // one-hot of the symbols: [batch, C, 1] == [1, 1, E] -> [batch, C, E]
        let entries = Tensor::<1, Int>::arange(0..e as i64, &soft.device()).reshape([1, 1, e]);
        let hard = symbols
            .clone()
            .reshape([batch, c, 1])
            .equal(entries)
            .float();
        let assignment = hard + (soft.clone() - soft.detach());
        Quantised {
            values,
            symbols,
            assignment,
        }
    }
}

/// A quantised code.
pub struct Quantised {
    /// The chosen entries' values: [batch, C]
    pub values: Tensor<2>,
    /// The chosen entries: [batch, C]
    pub symbols: Tensor<2, Int>,
    /// One-hot forwards, soft backwards: [batch, C, E]
    pub assignment: Tensor<3>,
}
// ANCHOR_END: quantiser

// ANCHOR: entropy
/// The entropy model: log q(s_i | s_<i) of every symbol value at every code position.
#[derive(Module, Debug)]
pub struct EntropyModel {
    /// Causal convolutions 1 -> M (type A) -> M (type B) -> E (type B) over the quantised values,
    /// LeakyReLU between them: chapter 2's [`causal_logits`].
    arm: Vec<CausalConv1d>,
    /// Logits of one independent categorical per position: [C, E].
    independent: Option<Param<Tensor<2>>>,
    #[module(skip)]
    kind: EntropyKind,
    #[module(skip)]
    symbols: usize,
}

impl EntropyModel {
    pub fn new(config: &CompressionConfig, device: &Device) -> EntropyModel {
        let (m, k, e) = (config.arm_channels, config.arm_kernel, config.codebook);
        let arm = match config.entropy {
            EntropyKind::Arm => vec![
                CausalConv1d::new(1, m, k, true, device),
                CausalConv1d::new(m, m, k, false, device),
                CausalConv1d::new(m, e, k, false, device),
            ],
            _ => Vec::new(),
        };
        let independent = (config.entropy == EntropyKind::Indp)
            .then(|| Param::from_tensor(Tensor::zeros([config.code_len, e], device)));
        EntropyModel {
            arm,
            independent,
            kind: config.entropy,
            symbols: e,
        }
    }

    /// The logits of q(s_i | s_<i) for every position, from the quantised values.
    ///
    /// # Shapes
    /// - values: [batch, C]
    /// - returns: [batch, C, E]
    pub fn logits(&self, values: Tensor<2>) -> Tensor<3> {
        let [batch, c] = values.dims();
        let device = values.device();
        match self.kind {
            EntropyKind::Arm => causal_logits(&self.arm, values),
            EntropyKind::Indp => {
                let logits = self.independent.as_ref().expect("indp has logits").val();
                // [C, E] -> [1, C, E] -> [batch, C, E]
                logits.unsqueeze_dim::<3>(0).repeat_dim(0, batch)
            }
            EntropyKind::Uniform => Tensor::zeros([batch, c, self.symbols], &device),
        }
    }

    /// q(s_i = k | s_<i) for every position and value.
    ///
    /// # Shapes
    /// - values: [batch, C]
    /// - returns: [batch, C, E]
    pub fn probabilities(&self, values: Tensor<2>) -> Tensor<3> {
        softmax(self.logits(values), 2)
    }

    /// The cross-entropy of the assignment under q per image, in nats per symbol (the mean over
    /// the C positions): -log q(s) forwards, with the soft assignment's gradient.
    ///
    /// # Shapes
    /// - values: [batch, C]; assignment: [batch, C, E]
    /// - returns: [batch]
    pub fn rate(&self, values: Tensor<2>, assignment: Tensor<3>) -> Tensor<1> {
        let [batch, _] = values.dims();
        let log_q = log_softmax(self.logits(values), 2);
        // sum_k a_k log q_k: [batch, C, E] -> [batch, C, 1] -> mean over C -> [batch, 1, 1]
        (assignment * log_q)
            .sum_dim(2)
            .mean_dim(1)
            .reshape([batch])
            .neg()
    }
}
// ANCHOR_END: entropy

// ANCHOR: model
/// Encoder, codebook, decoder and entropy model.
#[derive(Module, Debug)]
pub struct Compressor {
    encoder: BnMlp,
    pub codebook: Codebook,
    decoder: BnMlp,
    pub entropy: EntropyModel,
}

/// What one pass gives for a batch.
pub struct Pass {
    /// x^: [batch, D]
    pub reconstruction: Tensor<2>,
    /// The stored symbols: [batch, C]
    pub symbols: Tensor<2, Int>,
    /// Mean squared error per pixel: [batch]
    pub distortion: Tensor<1>,
    /// -log q(symbols), nats per symbol: [batch]
    pub rate: Tensor<1>,
}

impl Compressor {
    pub fn new(config: &CompressionConfig, device: &Device) -> Compressor {
        let mut widths = vec![config.dim];
        widths.extend(&config.hidden);
        widths.push(config.code_len);
        let encoder = BnMlp::new(&widths, device);
        widths.reverse();
        Compressor {
            encoder,
            codebook: Codebook::new(config.codebook, device),
            decoder: BnMlp::new(&widths, device),
            entropy: EntropyModel::new(config, device),
        }
    }

    /// The trained parameters: burn's count without the BatchNorm running statistics.
    pub fn parameters(&self) -> usize {
        self.num_params() - self.encoder.running_statistics() - self.decoder.running_statistics()
    }

    /// Encodes, quantises, decodes and prices a batch.
    ///
    /// # Shapes
    /// - x: [batch, D] on the digits' 0..16 scale
    pub fn pass(&self, x: Tensor<2>) -> Pass {
        let [batch, _] = x.dims();
        let code = self.codebook.quantise(self.encoder.forward(x.clone()));
        let reconstruction = self.decoder.forward(code.values.clone());
        // mean_d (x_d - x^_d)^2: [batch, D] -> [batch, 1] -> [batch]
        let distortion = (x - reconstruction.clone())
            .powi_scalar(2)
            .mean_dim(1)
            .reshape([batch]);
        let rate = self.entropy.rate(code.values, code.assignment);
        Pass {
            reconstruction,
            symbols: code.symbols,
            distortion,
            rate,
        }
    }

    /// The symbols of a batch of images (what the sender stores).
    ///
    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch, C]
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2, Int> {
        self.codebook.symbols(self.encoder.forward(x))
    }

    /// The images decoded from symbols (what the receiver sees).
    ///
    /// # Shapes
    /// - symbols: [batch, C]
    /// - returns: [batch, D]
    pub fn decode(&self, symbols: Tensor<2, Int>) -> Tensor<2> {
        self.decoder.forward(self.codebook.lookup(symbols))
    }
}
// ANCHOR_END: model

/// The training loss: the batch mean of distortion + beta rate.
pub fn objective(pass: &Pass, beta: f64) -> Tensor<1> {
    (pass.distortion.clone() + pass.rate.clone() * beta).mean()
}
