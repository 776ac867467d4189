//! A range asymmetric numeral system coder (rANS; Duda, 2013): turns a sequence of symbols, each
//! with the probability an entropy model gives it, into bytes whose length is within a few bytes
//! of the ideal code length sum -log2 q(s), and back, bit-exactly.
//!
//! The whole state is one integer x. Encoding s with frequency f_s and cumulative start c_s
//! (frequencies out of M = 2^PROB_BITS) maps x to (x / f_s) M + (x mod f_s) + c_s, which grows x
//! by a factor of about M / f_s = 1 / q(s): log2 of that is the symbol's code length. Bytes leave
//! the bottom of x whenever it would overflow. Decoding runs the map backwards, so rANS is a
//! stack: the encoder takes the symbols last to first, and the decoder returns them first to last.

use anyhow::{Result, bail, ensure};

/// Frequencies are integers out of M = 2^16.
pub const PROB_BITS: u32 = 16;
/// M, the total of every frequency table.
pub const TOTAL: u32 = 1 << PROB_BITS;
/// The state stays in [L, 256 L): L = 2^23, so it fits 32 bits with one byte of headroom.
const LOWER: u32 = 1 << 23;

// ANCHOR: quantize
/// Integer frequencies out of M for a probability vector: every symbol gets at least 1 (so
/// every symbol stays codable), the rest is shared in proportion to p, and what rounding leaves
/// over goes to the most likely symbol. Deterministic: the decoder, given the same
/// probabilities, builds the same table.
pub fn frequencies(probabilities: &[f32]) -> Vec<u32> {
    let k = probabilities.len() as u32;
    let spare = (TOTAL - k) as f64;
    let mut freqs: Vec<u32> = probabilities
        .iter()
        .map(|&p| 1 + (p.max(0.0) as f64 * spare).floor() as u32)
        .collect();
    let assigned: u32 = freqs.iter().sum();
    let most_likely = (0..freqs.len())
        .max_by(|&a, &b| {
            probabilities[a]
                .total_cmp(&probabilities[b])
                .then(b.cmp(&a))
        })
        .expect("a distribution has a symbol");
    freqs[most_likely] += TOTAL - assigned;
    freqs
}
// ANCHOR_END: quantize

/// The cumulative start c_s of symbol s in a frequency table.
fn start(freqs: &[u32], symbol: usize) -> u32 {
    freqs[..symbol].iter().sum()
}

// ANCHOR: encode
/// Encodes symbols, each with the frequency table it is coded under, into bytes.
pub fn encode(symbols: &[(usize, Vec<u32>)]) -> Result<Vec<u8>> {
    let mut x = LOWER;
    // Bytes in the order they leave the state; reversed at the end so the decoder reads forward.
    let mut out = Vec::new();
    for (symbol, freqs) in symbols.iter().rev() {
        ensure!(
            freqs.iter().sum::<u32>() == TOTAL,
            "a frequency table must sum to {TOTAL}"
        );
        let freq = *freqs
            .get(*symbol)
            .ok_or_else(|| anyhow::anyhow!("symbol {symbol} is outside its table"))?;
        ensure!(
            freq > 0,
            "symbol {symbol} has frequency 0 and cannot be coded"
        );
        // Renormalise: shift bytes out until encoding s keeps x below 256 L.
        let x_max = ((LOWER >> PROB_BITS) << 8) * freq;
        while x >= x_max {
            out.push((x & 0xff) as u8);
            x >>= 8;
        }
        // x <- (x / f) M + (x mod f) + c
        x = ((x / freq) << PROB_BITS) + (x % freq) + start(freqs, *symbol);
    }
    out.extend_from_slice(&x.to_le_bytes());
    out.reverse();
    Ok(out)
}
// ANCHOR_END: encode

// ANCHOR: decode
/// Reads symbols back from bytes written by [`encode`], first to last; each call needs the
/// frequency table the symbol was coded under.
pub struct Decoder<'a> {
    bytes: &'a [u8],
    position: usize,
    x: u32,
}

impl<'a> Decoder<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Decoder<'a>> {
        ensure!(bytes.len() >= 4, "a stream holds at least the 4-byte state");
        let x = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        Ok(Decoder {
            bytes,
            position: 4,
            x,
        })
    }

    /// The next symbol under the frequency table `freqs`.
    pub fn decode(&mut self, freqs: &[u32]) -> Result<usize> {
        // The slot x mod M falls in exactly one symbol's range [c_s, c_s + f_s).
        let slot = self.x & (TOTAL - 1);
        let mut cumulative = 0;
        let Some(symbol) = freqs.iter().position(|&f| {
            cumulative += f;
            slot < cumulative
        }) else {
            bail!("the frequency table does not cover slot {slot}");
        };
        let freq = freqs[symbol];
        // x <- f (x / M) + slot - c, the encoder's map run backwards
        self.x = freq * (self.x >> PROB_BITS) + slot - (cumulative - freq);
        while self.x < LOWER {
            let Some(&byte) = self.bytes.get(self.position) else {
                bail!("the stream ended early");
            };
            self.x = (self.x << 8) | byte as u32;
            self.position += 1;
        }
        Ok(symbol)
    }

    /// Whether every byte was read and the state is back where the encoder started: true after
    /// the last symbol of an intact stream.
    pub fn finished(&self) -> bool {
        self.position == self.bytes.len() && self.x == LOWER
    }
}
// ANCHOR_END: decode

/// The ideal code length of symbols under their tables, sum -log2(f_s / M), in bits.
pub fn ideal_bits(symbols: &[(usize, Vec<u32>)]) -> f64 {
    symbols
        .iter()
        .map(|(s, freqs)| -((freqs[*s] as f64) / TOTAL as f64).log2())
        .sum()
}
