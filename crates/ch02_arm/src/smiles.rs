//! SMILES strings (Weininger, 1988) as token sequences, and a grammar check for generated ones.
//!
//! A SMILES string writes a molecule as a walk over its atoms: `CC(=O)O` is acetic acid, a
//! carbon, a carbon with a branch `(=O)` (a double-bonded oxygen), then an oxygen. Tokens are the
//! pieces a chemist reads: an atom of the organic subset (`C`, `Cl`, `c`, ...), a bracket atom
//! (`[NH4+]`, whole), a bond (`-`, `=`, `#`, `$`, `:`, `/`, `\`), a branch parenthesis, a ring
//! label (`1`, or `%12` for labels above 9), or the `.` between disconnected parts.
//!
//! [`check`] tests the grammar without chemistry: every character belongs to a token, branches
//! and brackets balance and are not empty, bonds stand between atoms, and every ring label is
//! opened and closed. It does not check valences (`C(C)(C)(C)(C)C`, a carbon with five bonds,
//! passes), aromaticity (whether `c1ccc1` can be kekulised), that a bracket atom names a real
//! element, charges, or stereochemistry.

use std::collections::HashSet;
use std::fmt;

/// Atoms written without brackets: the organic subset, longest first so `Cl` is not `C`, `l`.
const ORGANIC: [&str; 17] = [
    "Cl", "Br", "B", "C", "N", "O", "P", "S", "F", "I", "b", "c", "n", "o", "p", "s", "*",
];
/// Bond symbols.
const BONDS: [char; 7] = ['-', '=', '#', '$', ':', '/', '\\'];

/// One token of a SMILES string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Token {
    /// An organic-subset atom or a whole bracket atom, as written.
    Atom(String),
    Bond(char),
    BranchOpen,
    BranchClose,
    /// A ring-bond label, 0..99.
    Ring(u8),
    /// `.`, between disconnected parts.
    Dot,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Token::Atom(a) => write!(f, "{a}"),
            Token::Bond(b) => write!(f, "{b}"),
            Token::BranchOpen => write!(f, "("),
            Token::BranchClose => write!(f, ")"),
            Token::Ring(r) if *r < 10 => write!(f, "{r}"),
            Token::Ring(r) => write!(f, "%{r:02}"),
            Token::Dot => write!(f, "."),
        }
    }
}

/// Why a string is not grammatical SMILES, at which character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmilesError {
    pub position: usize,
    pub reason: &'static str,
}

impl fmt::Display for SmilesError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} at character {}", self.reason, self.position)
    }
}

impl std::error::Error for SmilesError {}

// ANCHOR: tokenize
/// Splits a SMILES string into tokens; fails on a character no token starts with.
pub fn tokenize(smiles: &str) -> Result<Vec<Token>, SmilesError> {
    let mut tokens = Vec::new();
    let mut i = 0;
    let error = |position, reason| SmilesError { position, reason };
    while i < smiles.len() {
        let rest = &smiles[i..];
        let c = rest.chars().next().expect("not at the end");
        let (token, length) = if c == '[' {
            let close = rest.find(']').ok_or(error(i, "unclosed bracket atom"))?;
            let inside = &rest[1..close];
            if inside.is_empty() || inside.contains('[') {
                return Err(error(i, "malformed bracket atom"));
            }
            if !inside.chars().any(|c| c.is_ascii_alphabetic() || c == '*') {
                return Err(error(i, "bracket atom without an element"));
            }
            (Token::Atom(rest[..=close].to_string()), close + 1)
        } else if let Some(atom) = ORGANIC.iter().find(|a| rest.starts_with(**a)) {
            (Token::Atom(atom.to_string()), atom.len())
        } else if BONDS.contains(&c) {
            (Token::Bond(c), 1)
        } else if c == '(' {
            (Token::BranchOpen, 1)
        } else if c == ')' {
            (Token::BranchClose, 1)
        } else if c == '.' {
            (Token::Dot, 1)
        } else if let Some(d) = c.to_digit(10) {
            (Token::Ring(d as u8), 1)
        } else if c == '%' {
            let digits = rest
                .get(1..3)
                .filter(|d| d.chars().all(|c| c.is_ascii_digit()));
            let label = digits.ok_or(error(i, "% needs two digits"))?;
            (Token::Ring(label.parse().expect("two digits")), 3)
        } else {
            return Err(error(i, "character outside SMILES"));
        };
        tokens.push(token);
        i += length;
    }
    Ok(tokens)
}

/// The string of a token sequence: the inverse of [`tokenize`].
pub fn detokenize(tokens: &[Token]) -> String {
    tokens.iter().map(Token::to_string).collect()
}
// ANCHOR_END: tokenize

// ANCHOR: check
/// Whether a token sequence is grammatical SMILES (see the module's documentation for what is
/// and is not checked). Positions in errors count tokens.
pub fn check(tokens: &[Token]) -> Result<(), SmilesError> {
    let error = |position, reason| Err(SmilesError { position, reason });
    if tokens.is_empty() {
        return error(0, "empty string");
    }
    // Whether the chain being written has an atom to attach the next thing to.
    let mut after_atom = false;
    // A bond written and waiting for its second atom (or ring label).
    let mut pending_bond = false;
    // For every open branch, whether an atom has been written inside it yet.
    let mut branches: Vec<bool> = Vec::new();
    let mut open_rings: HashSet<u8> = HashSet::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Atom(_) => {
                after_atom = true;
                pending_bond = false;
                if let Some(has_atom) = branches.last_mut() {
                    *has_atom = true;
                }
            }
            Token::Bond(_) => {
                if !after_atom || pending_bond {
                    return error(i, "a bond needs an atom before it");
                }
                pending_bond = true;
            }
            Token::Ring(label) => {
                if !after_atom {
                    return error(i, "a ring label needs an atom before it");
                }
                if !open_rings.remove(label) {
                    open_rings.insert(*label);
                }
                pending_bond = false;
            }
            Token::BranchOpen => {
                if !after_atom || pending_bond {
                    return error(i, "a branch needs an atom before it");
                }
                branches.push(false);
            }
            Token::BranchClose => {
                match branches.pop() {
                    None => return error(i, "a branch closes that was never opened"),
                    Some(false) => return error(i, "an empty branch"),
                    Some(true) => {}
                }
                if pending_bond {
                    return error(i, "a bond at the end of a branch");
                }
                after_atom = true;
            }
            Token::Dot => {
                if !after_atom || pending_bond || !branches.is_empty() {
                    return error(i, "a dot must separate two whole parts");
                }
                after_atom = false;
            }
        }
    }
    let end = tokens.len();
    if pending_bond {
        return error(end, "a bond at the end");
    }
    if !branches.is_empty() {
        return error(end, "a branch left open");
    }
    if !open_rings.is_empty() {
        return error(end, "a ring label left open");
    }
    if !after_atom {
        return error(end, "no atom at the end");
    }
    Ok(())
}

/// Whether a string is grammatical SMILES: it tokenizes and passes [`check`].
pub fn is_valid(smiles: &str) -> bool {
    tokenize(smiles).is_ok_and(|tokens| check(&tokens).is_ok())
}
// ANCHOR_END: check

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_molecules_round_trip_and_pass() {
        for smiles in [
            "CC(=O)O",
            "c1ccccc1",
            "CC1C2CCC(C2)C1CN(CCO)C(=O)c1ccc(Cl)cc1",
            "COc1ccc(-c2cc(=O)c3c(O)c(OC)c(OC)cc3o2)cc1O",
            "[NH4+].[Cl-]",
            "C%12CCCCC%12",
            "F/C=C/F",
            "O=C1CC[C@H](N)C1",
            "C1=CC=CC=C1Br",
        ] {
            let tokens = tokenize(smiles).unwrap();
            assert_eq!(detokenize(&tokens), smiles);
            assert_eq!(check(&tokens), Ok(()), "{smiles}");
        }
    }

    #[test]
    fn broken_grammar_is_caught() {
        for smiles in [
            "", "C(", "C)C", "C()C", "C1CC", "=CC", "CC=", "C==C", "(C)C", "C(=)C", "C.", ".C",
            "C[NH4", "C[]C", "CxC", "C%1C", "1CC1",
        ] {
            assert!(!is_valid(smiles), "{smiles:?} passed");
        }
    }

    #[test]
    fn organic_atoms_take_the_longest_match() {
        let tokens = tokenize("ClCBr").unwrap();
        assert_eq!(
            tokens,
            vec![
                Token::Atom("Cl".into()),
                Token::Atom("C".into()),
                Token::Atom("Br".into())
            ]
        );
    }
}
