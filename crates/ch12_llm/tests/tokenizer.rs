//! The character tokenizer against the whole shipped corpus.

use ch12_llm::text::{CharTokenizer, Corpus, read_shakespeare};

#[test]
fn the_tokenizer_round_trips_the_whole_corpus() {
    let text = read_shakespeare().unwrap();
    assert_eq!(text.chars().count(), 5_057_198);
    let tokenizer = CharTokenizer::fit(&text);
    assert_eq!(tokenizer.vocabulary(), 85);
    let ids = tokenizer.encode(&text).unwrap();
    assert_eq!(tokenizer.decode(&ids), text);
}

#[test]
fn the_windows_cover_each_split_in_order() {
    let text = read_shakespeare().unwrap();
    let corpus = Corpus::load(149).unwrap();
    let n = text.len();
    // each split's windows, start tokens dropped, are the split's text up to its last whole window
    let splits = [
        (&corpus.train, 0, n * 96 / 100),
        (&corpus.val, n * 96 / 100, n * 97 / 100),
        (&corpus.test, n * 97 / 100, n),
    ];
    for (windows, from, to) in splits {
        let whole = (to - from) / 149 * 149;
        assert_eq!(windows.len(), (to - from) / 149);
        assert_eq!(
            corpus.tokenizer.decode(&windows.tokens),
            text[from..from + whole]
        );
    }
}
