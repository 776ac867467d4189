//! The teeny GPT (Tomczak, section 2.17): a decoder-only transformer over characters,
//!
//! p(c_1..c_T | start) = prod_t p(c_t | start, c_1..c_{t-1}).
//!
//! The network is the decoder shared with chapter 2's SMILES model
//! (`dgm_core::transformer::DecoderTransformer`: token and position embeddings, post-LayerNorm
//! blocks of causal multi-head attention and an MLP, a log-softmax over the vocabulary). What is
//! the chapter's own is here: the shape it gives that network (heads that split the width, one
//! position per id of a window), the texts it grows from the start token, and a picture of
//! where it looks while reading one of them.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use burn::prelude::*;
use dgm_core::data::to_host;
use dgm_core::plot::attention_map;
use dgm_core::transformer::{
    Architecture, DecoderConfig, DecoderTransformer, Generation, Sampling, generate,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::LlmConfig;
use crate::text::CharTokenizer;

/// Characters of a sampled line shown in the attention picture.
const ATTENDED_CHARS: usize = 40;

// ANCHOR: decoder
/// The network's shape for a vocabulary of `vocabulary` tokens: H heads of width D / H (as
/// PyTorch's `nn.MultiheadAttention` splits the width), and as the reference one position per
/// id of a window, the last never read as input.
pub fn decoder_config(config: &LlmConfig, vocabulary: usize) -> DecoderConfig {
    DecoderConfig {
        vocabulary,
        positions: config.context + 1,
        architecture: Architecture {
            width: config.width,
            heads: config.heads,
            head_width: config.width / config.heads,
            blocks: config.blocks,
            mlp_hidden: config.mlp_hidden,
            dropout: config.dropout,
        },
    }
}
// ANCHOR_END: decoder

/// A freshly initialised teeny GPT over the tokenizer's characters and the start id.
pub fn teeny_gpt(
    config: &LlmConfig,
    tokenizer: &CharTokenizer,
    device: &Device,
) -> DecoderTransformer {
    DecoderTransformer::new(&decoder_config(config, tokenizer.vocabulary()), device)
}

/// `n` texts grown from the start token to a full window, each next character drawn with
/// `sampling` from the model's distribution given the text so far.
pub fn sample_texts(
    model: &DecoderTransformer,
    tokenizer: &CharTokenizer,
    config: &LlmConfig,
    n: usize,
    sampling: Sampling,
    rng: &mut impl Rng,
    device: &Device,
) -> Vec<String> {
    let how = Generation {
        start: tokenizer.start(),
        end: None,
        length: config.context + 1,
        sampling,
    };
    let rows = generate(model, n, &how, rng, device);
    rows.iter().map(|row| tokenizer.decode(row)).collect()
}

/// Writes `samples.txt`: `samples` texts for each sampling setting. Returns the texts of the
/// last setting.
pub fn write_samples(
    path: &Path,
    model: &DecoderTransformer,
    tokenizer: &CharTokenizer,
    config: &LlmConfig,
    seed: u64,
    device: &Device,
) -> Result<Vec<String>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut file, mut last) = (String::new(), Vec::new());
    for sampling in &config.sampling {
        last = sample_texts(
            model,
            tokenizer,
            config,
            config.samples,
            *sampling,
            &mut rng,
            device,
        );
        for text in &last {
            writeln!(file, "=== {} ===\n{text}\n", describe(sampling))?;
        }
    }
    std::fs::write(path, file)?;
    Ok(last)
}

// ANCHOR: attention_picture
/// Draws the attention of head 0 of the last block over the start token and the first
/// characters of `text`.
pub fn save_attention(
    path: &Path,
    model: &DecoderTransformer,
    tokenizer: &CharTokenizer,
    text: &str,
    device: &Device,
) -> Result<()> {
    let shown: String = text.chars().take(ATTENDED_CHARS).collect();
    let mut ids = vec![tokenizer.start()];
    ids.extend(tokenizer.encode(&shown)?);
    let n = ids.len();
    let ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
    let tokens = Tensor::from_data(TensorData::new(ids, [1, n]), device);
    let (_, weights) = model.forward_with_attention(tokens);
    let last = weights.last().expect("at least one block");
    // head 0 of the only sequence: [1, H, n, n] -> [1, 1, n, n]
    let head = to_host(last.clone().slice([0..1, 0..1, 0..n, 0..n]));
    let labels: Vec<String> = std::iter::once("^".to_string())
        .chain(shown.chars().map(|c| match c {
            ' ' => "␣".to_string(),
            '\n' => "↵".to_string(),
            c => c.to_string(),
        }))
        .collect();
    let title = format!(
        "block {} of {}, head 1: row t = where position t looks (^ = start)",
        weights.len(),
        weights.len()
    );
    attention_map(path, &head, &labels, &title)
}
// ANCHOR_END: attention_picture

/// How a sampling setting is written in the samples file.
fn describe(sampling: &Sampling) -> String {
    match sampling.top_k {
        Some(k) => format!("temperature {}, top-k {k}", sampling.temperature),
        None => format!("temperature {}, all tokens", sampling.temperature),
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;

    use super::*;
    use dgm_core::config::Preset;

    #[test]
    fn the_network_has_the_references_parameters() {
        // the reference's 29 tokens: 4,284,061 parameters (reference/intro_dgm.md, 2.17)
        let decoder = decoder_config(&LlmConfig::full(), 29);
        let model = DecoderTransformer::new(&decoder, &Device::flex());
        assert_eq!(model.num_params(), 4_284_061);
    }
}
