//! The decoder-only transformer: token and position embeddings, a stack of post-LayerNorm blocks
//! of causal self-attention and an MLP, and the output layer's log-probabilities.

use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::attention::CausalSelfAttention;
use crate::fused::{gelu, linear_layer, log_softmax};
use crate::nn::LayerNorm;

/// The shape of a decoder transformer: the data's vocabulary and longest input, and the
/// architecture a config chooses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecoderConfig {
    /// V: distinct tokens.
    pub vocabulary: usize,
    /// Longest input the learned positional embedding covers.
    pub positions: usize,
    #[serde(flatten)]
    pub architecture: Architecture,
}

/// What a config chooses of a decoder transformer: everything but the vocabulary and the
/// positions, which come from the data. Flattened into the configs, so their files keep these
/// keys at the top level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// D: the width of every position's vector.
    pub width: usize,
    /// H: attention heads per block.
    pub heads: usize,
    /// E: the width of one head.
    pub head_width: usize,
    /// Transformer blocks.
    pub blocks: usize,
    /// The hidden width of each block's MLP.
    pub mlp_hidden: usize,
    /// Dropout on the embeddings' sum while training.
    pub dropout: f64,
}

// ANCHOR: block
/// One post-LayerNorm block: x <- LN(x + attention(x)); x <- LN(x + MLP(x)), the MLP
/// D -> hidden -> D with GELU.
#[derive(Module, Debug)]
pub struct Block {
    attention: CausalSelfAttention,
    attention_norm: LayerNorm,
    mlp_in: Linear,
    mlp_out: Linear,
    mlp_norm: LayerNorm,
}

impl Block {
    fn new(architecture: &Architecture, device: &Device) -> Block {
        let (d, hidden) = (architecture.width, architecture.mlp_hidden);
        let (heads, head_width) = (architecture.heads, architecture.head_width);
        Block {
            attention: CausalSelfAttention::new(d, heads, head_width, device),
            attention_norm: LayerNorm::new(d, device),
            mlp_in: LinearConfig::new(d, hidden).init(device),
            mlp_out: LinearConfig::new(hidden, d).init(device),
            mlp_norm: LayerNorm::new(d, device),
        }
    }

    /// The block's output.
    ///
    /// # Shapes
    /// - x: [batch, T, D]
    /// - returns: [batch, T, D]
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let attended = self.attention.forward(x.clone());
        self.rest(x, attended)
    }

    /// The block's output and its attention weights [batch, H, T, T].
    fn forward_with_weights(&self, x: Tensor<3>) -> (Tensor<3>, Tensor<4>) {
        let attended = self.attention.forward_with_weights(x.clone());
        (self.rest(x, attended.output), attended.weights)
    }

    /// What follows the attention: its residual and norm, then the MLP's.
    fn rest(&self, x: Tensor<3>, attended: Tensor<3>) -> Tensor<3> {
        // x = LN(x + attention(x))
        let x = self.attention_norm.forward(x + attended);
        // x = LN(x + W2 gelu(W1 x))
        let mlp = linear_layer(&self.mlp_out, gelu(linear_layer(&self.mlp_in, x.clone())));
        self.mlp_norm.forward(x + mlp)
    }
}
// ANCHOR_END: block

// ANCHOR: decoder
/// Token and position embeddings, dropout, the blocks, and a linear read-out to the vocabulary.
#[derive(Module, Debug)]
pub struct DecoderTransformer {
    tokens: Embedding,
    positions: Embedding,
    dropout: Dropout,
    blocks: Vec<Block>,
    head: Linear,
}

impl DecoderTransformer {
    pub fn new(config: &DecoderConfig, device: &Device) -> DecoderTransformer {
        let architecture = &config.architecture;
        let d = architecture.width;
        DecoderTransformer {
            tokens: EmbeddingConfig::new(config.vocabulary, d).init(device),
            positions: EmbeddingConfig::new(config.positions, d).init(device),
            dropout: DropoutConfig::new(architecture.dropout).init(),
            blocks: (0..architecture.blocks)
                .map(|_| Block::new(architecture, device))
                .collect(),
            head: LinearConfig::new(d, config.vocabulary).init(device),
        }
    }

    /// log p(x_{t+1} = v | x_0..x_t) for every position t and token v.
    ///
    /// # Shapes
    /// - tokens: [batch, T] with T <= positions
    /// - returns: [batch, T, V]
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let h = self
            .blocks
            .iter()
            .fold(self.embed(tokens), |h, block| block.forward(h));
        log_softmax(linear_layer(&self.head, h))
    }

    /// [`Self::forward`] and the attention weights of every block, one [batch, H, T, T] each.
    pub fn forward_with_attention(&self, tokens: Tensor<2, Int>) -> (Tensor<3>, Vec<Tensor<4>>) {
        let mut h = self.embed(tokens);
        let mut weights = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let (next, block_weights) = block.forward_with_weights(h);
            h = next;
            weights.push(block_weights);
        }
        (log_softmax(linear_layer(&self.head, h)), weights)
    }

    /// h_0 = dropout(token embedding + position embedding): [batch, T] -> [batch, T, D].
    fn embed(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [batch, t] = tokens.dims();
        let device = tokens.device();
        // [T] -> [1, T] -> [batch, T]: position t of every sequence
        let positions = Tensor::<1, Int>::arange(0..t as i64, &device)
            .reshape([1, t])
            .expand([batch, t]);
        self.dropout
            .forward(self.tokens.forward(tokens) + self.positions.forward(positions))
    }
}
// ANCHOR_END: decoder
