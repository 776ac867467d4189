//! From symbols to bytes and back: the rANS coder of [`crate::rans`] driven by the trained
//! entropy model.
//!
//! The symbols of all images go into one stream, position by position: first every image's
//! symbol 0, then every image's symbol 1, and so on. The receiver decodes in the same order,
//! so when it needs the table of symbol i it already knows symbols 0..i of every image, which
//! is all the autoregressive model looks at. Both sides run the entropy model on the same
//! [images, C] shape (the receiver with zeros where it knows nothing yet), so the probabilities
//! of position i, and the integer tables built from them, are the same to the last bit.
//! [`code_split`] codes a whole split this way and checks that every symbol comes back.

use anyhow::{Result, ensure};
use burn::prelude::*;
use burn::tensor::TensorData;
use dgm_core::data::{Split, to_host};

use crate::compressor::Compressor;
use crate::rans::{Decoder, encode, frequencies};

/// The frequency tables of every image and position: tables[i][c] for image i, position c.
fn tables(model: &Compressor, values: Tensor<2>) -> Vec<Vec<Vec<u32>>> {
    let [n, c, e] = model.entropy.probabilities(values.clone()).dims();
    let probabilities = to_host(model.entropy.probabilities(values));
    (0..n)
        .map(|i| {
            (0..c)
                .map(|p| frequencies(&probabilities[(i * c + p) * e..(i * c + p + 1) * e]))
                .collect()
        })
        .collect()
}

/// Symbols as host integers, one row per image.
fn rows(symbols: Tensor<2, Int>) -> Vec<Vec<usize>> {
    let [_, c] = symbols.dims();
    let flat: Vec<i64> = symbols
        .into_data()
        .convert::<i64>()
        .try_into_vec()
        .expect("symbols are integers");
    flat.chunks(c)
        .map(|row| row.iter().map(|&s| s as usize).collect())
        .collect()
}

// ANCHOR: encode
/// Entropy-codes the symbols of a batch of images into one stream.
///
/// # Shapes
/// - symbols: [n, C]
pub fn encode_symbols(model: &Compressor, symbols: Tensor<2, Int>) -> Result<Vec<u8>> {
    let values = model.codebook.lookup(symbols.clone());
    let tables = tables(model, values);
    let symbols = rows(symbols);
    let code_len = symbols.first().map_or(0, Vec::len);
    let mut stream = Vec::with_capacity(symbols.len() * code_len);
    for position in 0..code_len {
        for (image, row) in symbols.iter().enumerate() {
            stream.push((row[position], tables[image][position].clone()));
        }
    }
    encode(&stream)
}
// ANCHOR_END: encode

// ANCHOR: decode
/// Decodes the symbols of `n` images of `code_len` symbols from a stream of [`encode_symbols`].
///
/// # Shapes
/// - returns: [n, C]
pub fn decode_symbols(
    model: &Compressor,
    bytes: &[u8],
    n: usize,
    code_len: usize,
    device: &Device,
) -> Result<Tensor<2, Int>> {
    let mut decoder = Decoder::new(bytes)?;
    let mut symbols = vec![vec![0i64; code_len]; n];
    let mut known = vec![vec![false; code_len]; n];
    for position in 0..code_len {
        // The values known so far; zeros where nothing is known yet.
        let flat: Vec<i64> = symbols.iter().flatten().copied().collect();
        let indices = Tensor::<2, Int>::from_data(TensorData::new(flat, [n, code_len]), device);
        let mask: Vec<f32> = known
            .iter()
            .flatten()
            .map(|&k| f32::from(u8::from(k)))
            .collect();
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [n, code_len]), device);
        let values = model.codebook.lookup(indices) * mask;
        let tables = tables(model, values);
        for image in 0..n {
            symbols[image][position] = decoder.decode(&tables[image][position])? as i64;
            known[image][position] = true;
        }
    }
    ensure!(
        decoder.finished(),
        "the stream has bytes left over or a broken state"
    );
    let flat: Vec<i64> = symbols.into_iter().flatten().collect();
    Ok(Tensor::from_data(
        TensorData::new(flat, [n, code_len]),
        device,
    ))
}
// ANCHOR_END: decode

/// What coding the test split to bytes and back gives.
pub struct Coded {
    pub bytes: usize,
    /// The decoded symbols equal the encoded ones, every one.
    pub exact: bool,
}

// ANCHOR: roundtrip
/// Codes the whole split into one rANS stream, decodes it, and compares the symbols.
pub fn code_split(
    model: &Compressor,
    split: &Split,
    code_len: usize,
    device: &Device,
) -> Result<Coded> {
    let all: Vec<usize> = (0..split.len()).collect();
    let symbols = model.encode(split.rows(&all, device));
    let bytes = encode_symbols(model, symbols.clone())?;
    let decoded = decode_symbols(model, &bytes, split.len(), code_len, device)?;
    let exact = symbols.equal(decoded).all().into_scalar::<bool>();
    Ok(Coded {
        bytes: bytes.len(),
        exact,
    })
}
// ANCHOR_END: roundtrip
