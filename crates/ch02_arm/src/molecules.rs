//! The molecules of the SMILES transformer: the shipped MOSES test split, tokenized, numbered
//! and split as Tomczak splits his Tox21 set.
//!
//! A molecule of n tokens becomes the row `start, x_1, .., x_n, end, end, ..` of L = longest + 2
//! ids. Id 0 is the end (and the padding after it), ids 1..=V-2 the SMILES tokens from the most
//! to the least frequent, and id V-1 the start. The model is scored on the n + 1 predictions
//! x_1..x_n, end: the probability of the string and of its stopping there; the padding after
//! the end is not a prediction.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use anyhow::{Context, Result, ensure};
use dgm_core::data::datasets_dir;
use dgm_core::transformer::Sequences;
use flate2::read::GzDecoder;

use crate::smiles::{Token, tokenize};

/// The end of a molecule, and the padding after it.
pub const END: u32 = 0;

/// How many molecules, of which lengths, and how they split.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    /// The first molecules of the file with an accepted length, in file order.
    pub molecules: usize,
    /// Shortest and longest accepted molecule, in tokens (the book's 10..=100).
    pub min_tokens: usize,
    pub max_tokens: usize,
    /// Molecules of the training and validation splits; the rest is the test split.
    pub train: usize,
    pub val: usize,
}

/// The numbered molecules in their three splits.
pub struct Molecules {
    /// The token of each id 1..=V-2 (index 0 is id 1).
    pub tokens: Vec<String>,
    pub train: Sequences,
    pub val: Sequences,
    pub test: Sequences,
    /// The training molecules as strings, to tell new molecules from remembered ones.
    pub train_smiles: HashSet<String>,
}

impl Molecules {
    /// Reads `datasets/smiles/moses_test.csv.gz` (one SMILES per line under a `SMILES` header).
    pub fn load(selection: &Selection) -> Result<Molecules> {
        let path = datasets_dir().join("smiles/moses_test.csv.gz");
        let mut text = String::new();
        std::fs::File::open(&path)
            .map_err(anyhow::Error::from)
            .and_then(|file| Ok(GzDecoder::new(file).read_to_string(&mut text)?))
            .with_context(|| {
                format!(
                    "cannot read {}: run `cargo xtask datasets fetch smiles`",
                    path.display()
                )
            })?;
        let mut molecules = Vec::with_capacity(selection.molecules);
        for line in text.lines().skip(1) {
            if molecules.len() == selection.molecules {
                break;
            }
            let tokens = tokenize(line).with_context(|| format!("{}: {line}", path.display()))?;
            if (selection.min_tokens..=selection.max_tokens).contains(&tokens.len()) {
                molecules.push((line.to_string(), tokens));
            }
        }
        ensure!(
            molecules.len() == selection.molecules
                && selection.train + selection.val < selection.molecules,
            "{} holds {} molecules of {}..={} tokens; the selection needs {} with at least one \
             for the test split",
            path.display(),
            molecules.len(),
            selection.min_tokens,
            selection.max_tokens,
            selection.molecules
        );
        Ok(Molecules::number(&molecules, selection))
    }

    /// Numbers the tokens by frequency and cuts the rows into the three splits.
    fn number(molecules: &[(String, Vec<Token>)], selection: &Selection) -> Molecules {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (_, tokens) in molecules {
            for token in tokens {
                *counts.entry(token.to_string()).or_default() += 1;
            }
        }
        let mut tokens: Vec<String> = counts.keys().cloned().collect();
        tokens.sort_by(|a, b| counts[b].cmp(&counts[a]).then(a.cmp(b)));
        let id: HashMap<&str, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i as u32 + 1))
            .collect();
        let start = tokens.len() as u32 + 1;
        let longest = molecules.iter().map(|(_, t)| t.len()).max().unwrap_or(0);
        // start, the tokens, then the end and its padding: L ids per row
        let length = longest + 2;
        let rows = |range: std::ops::Range<usize>| {
            let mut rows = Sequences {
                tokens: Vec::with_capacity(range.len() * length),
                length,
                counted: Vec::with_capacity(range.len()),
            };
            for (_, molecule) in &molecules[range] {
                rows.tokens.push(start);
                rows.tokens
                    .extend(molecule.iter().map(|t| id[t.to_string().as_str()]));
                rows.tokens
                    .extend(std::iter::repeat_n(END, length - 1 - molecule.len()));
                // x_1..x_n and the end
                rows.counted.push(molecule.len() + 1);
            }
            rows
        };
        let (n_train, n_val) = (selection.train, selection.val);
        Molecules {
            train: rows(0..n_train),
            val: rows(n_train..n_train + n_val),
            test: rows(n_train + n_val..molecules.len()),
            train_smiles: molecules[..n_train]
                .iter()
                .map(|(s, _)| s.clone())
                .collect(),
            tokens,
        }
    }

    /// V: the SMILES tokens, the end and the start.
    pub fn vocabulary(&self) -> usize {
        self.tokens.len() + 2
    }

    /// The start id.
    pub fn start(&self) -> u32 {
        self.tokens.len() as u32 + 1
    }

    /// The string of a generated row: the tokens after the start, up to the first end (a second
    /// start token, which no molecule holds, is written as `^`).
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter()
            .skip(1)
            .take_while(|&&id| id != END)
            .map(|&id| match self.tokens.get(id as usize - 1) {
                Some(token) => token.as_str(),
                None => "^",
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hold_start_tokens_end_and_padding_and_decode_back() {
        let molecules: Vec<(String, Vec<Token>)> = ["CCO", "c1ccccc1", "C(=O)O", "CN"]
            .iter()
            .map(|s| (s.to_string(), tokenize(s).unwrap()))
            .collect();
        let selection = Selection {
            molecules: 4,
            min_tokens: 1,
            max_tokens: 100,
            train: 2,
            val: 1,
        };
        let numbered = Molecules::number(&molecules, &selection);
        // c1ccccc1 is the longest: 8 tokens, rows of 10
        assert_eq!(numbered.train.length, 10);
        assert_eq!(
            (
                numbered.train.len(),
                numbered.val.len(),
                numbered.test.len()
            ),
            (2, 1, 1)
        );
        // c (6 times), C (4), O (3): ids 1, 2, 3
        assert_eq!(&numbered.tokens[..3], ["c", "C", "O"]);
        let start = numbered.start();
        assert_eq!(
            &numbered.train.tokens[..10],
            [start, 2, 2, 3, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(numbered.train.counted, [4, 9]);
        for (split, original) in [(&numbered.train, "CCO"), (&numbered.test, "CN")] {
            assert_eq!(numbered.decode(&split.tokens[..10]), original);
        }
        assert!(numbered.train_smiles.contains("c1ccccc1"));
    }
}
