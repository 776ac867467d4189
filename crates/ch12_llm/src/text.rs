//! The corpus of the teeny GPT: the shipped Shakespeare, its characters as tokens, three splits
//! by position, and the packing of each split into windows.
//!
//! - Tokens: every distinct character of the corpus, in code-point order, numbered 0..C-1, and
//!   one more id, C, that starts every window. Decoding is the exact inverse of encoding.
//! - Splits: the first 96% of the characters train, the next 1% validate, the last 3% test (the
//!   end of *The Winter's Tale*, the last play in file-name order). A window never crosses a
//!   split's edge.
//! - Packing: each split is cut into consecutive windows of `context` characters (the tail that
//!   does not fill a window is dropped) and each becomes the row `start, c_1, .., c_context`.
//!   Every one of the `context` predictions counts: there is no padding.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail, ensure};
use dgm_core::data::datasets_dir;
use dgm_core::transformer::Sequences;

/// Characters as tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct CharTokenizer {
    /// The character of each id 0..C-1.
    pub chars: Vec<char>,
}

impl CharTokenizer {
    /// The distinct characters of `text`, in code-point order.
    pub fn fit(text: &str) -> CharTokenizer {
        let chars: BTreeSet<char> = text.chars().collect();
        CharTokenizer {
            chars: chars.into_iter().collect(),
        }
    }

    /// V = C + 1: the characters and the start.
    pub fn vocabulary(&self) -> usize {
        self.chars.len() + 1
    }

    /// The id that starts every window.
    pub fn start(&self) -> u32 {
        self.chars.len() as u32
    }

    /// The ids of `text`; fails on a character the tokenizer has not seen.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        text.chars()
            .enumerate()
            .map(|(i, c)| match self.chars.binary_search(&c) {
                Ok(id) => Ok(id as u32),
                Err(_) => bail!("character {c:?} at position {i} is not in the vocabulary"),
            })
            .collect()
    }

    /// The text of `ids`; the start id is dropped.
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter()
            .filter_map(|&id| self.chars.get(id as usize))
            .collect()
    }
}

/// The corpus, tokenized and packed.
pub struct Corpus {
    pub tokenizer: CharTokenizer,
    pub train: Sequences,
    pub val: Sequences,
    pub test: Sequences,
}

/// The shipped text: Shakespeare's plays and poems, 5,057,198 characters.
pub fn read_shakespeare() -> Result<String> {
    let path = datasets_dir().join("shakespeare/shakespeare_complete.txt");
    std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: run `cargo xtask datasets fetch shakespeare`",
            path.display()
        )
    })
}

impl Corpus {
    /// Reads, tokenizes, splits and packs the corpus into windows of `context` characters.
    pub fn load(context: usize) -> Result<Corpus> {
        Corpus::pack(&read_shakespeare()?, context)
    }

    // ANCHOR: pack
    /// Splits `text` 96 / 1 / 3 by position and packs each split.
    pub fn pack(text: &str, context: usize) -> Result<Corpus> {
        let tokenizer = CharTokenizer::fit(text);
        let ids = tokenizer.encode(text)?;
        let n = ids.len();
        let (train_end, val_end) = (n * 96 / 100, n * 97 / 100);
        let windows = |range: std::ops::Range<usize>| {
            let mut rows = Sequences {
                tokens: Vec::new(),
                length: context + 1,
                counted: Vec::new(),
            };
            for window in ids[range].chunks_exact(context) {
                rows.tokens.push(tokenizer.start());
                rows.tokens.extend_from_slice(window);
                rows.counted.push(context);
            }
            rows
        };
        let corpus = Corpus {
            train: windows(0..train_end),
            val: windows(train_end..val_end),
            test: windows(val_end..n),
            tokenizer,
        };
        ensure!(
            !corpus.val.is_empty() && !corpus.test.is_empty(),
            "a text of {n} characters is too short for windows of {context}"
        );
        Ok(corpus)
    }
    // ANCHOR_END: pack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_with_the_start_token_and_stay_inside_their_split() {
        let text: String = "abcdefghij".repeat(100);
        let corpus = Corpus::pack(&text, 7).unwrap();
        let start = corpus.tokenizer.start();
        // train 0..960, validation 960..970, test 970..1000, in whole windows of 7
        assert_eq!(corpus.tokenizer.vocabulary(), 11);
        let windows = [&corpus.train, &corpus.val, &corpus.test].map(|s| s.len());
        assert_eq!(windows, [137, 1, 4]);
        assert_eq!(corpus.train.length, 8);
        assert_eq!(&corpus.train.tokens[..8], [start, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(corpus.train.counted[0], 7);
        assert_eq!(
            corpus.tokenizer.decode(&corpus.train.tokens[8..16]),
            "hijabcd"
        );
        // validation starts at character 960, an "a"
        assert_eq!(corpus.tokenizer.decode(&corpus.val.tokens), "abcdefg");
    }

    #[test]
    fn a_text_too_short_for_a_window_per_split_is_refused() {
        let err = Corpus::pack(&"ab".repeat(100), 7)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("too short"), "{err}");
    }

    #[test]
    fn an_unknown_character_is_an_error_not_a_panic() {
        let tokenizer = CharTokenizer::fit("abc");
        let err = tokenizer.encode("abz").unwrap_err().to_string();
        assert!(err.contains("'z' at position 2"), "{err}");
    }
}
