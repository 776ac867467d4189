//! The SMILES grammar against real data: every molecule of the shipped MOSES test split.

use std::io::Read;

use ch02_arm::smiles::{check, detokenize, tokenize};
use dgm_core::data::datasets_dir;
use flate2::read::GzDecoder;

#[test]
fn every_moses_test_molecule_tokenizes_round_trips_and_passes() {
    let path = datasets_dir().join("smiles/moses_test.csv.gz");
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("SMILES"));
    let mut count = 0;
    for smiles in lines {
        let tokens = tokenize(smiles).unwrap_or_else(|e| panic!("{smiles}: {e}"));
        assert_eq!(detokenize(&tokens), smiles);
        check(&tokens).unwrap_or_else(|e| panic!("{smiles}: {e}"));
        count += 1;
    }
    assert_eq!(count, 176_074);
}
