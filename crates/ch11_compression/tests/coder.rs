//! The rANS coder on its own: exact round trips and a size within bytes of the ideal.

use ch11_compression::rans::{Decoder, TOTAL, encode, frequencies, ideal_bits};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// n symbols, each drawn from its own random distribution over `k` values, with its table.
fn random_stream(n: usize, k: usize, rng: &mut StdRng) -> Vec<(usize, Vec<u32>)> {
    (0..n)
        .map(|_| {
            // Sharp and flat distributions alike: weights w^4 for w uniform.
            let weights: Vec<f64> = (0..k).map(|_| rng.random::<f64>().powi(4)).collect();
            let total: f64 = weights.iter().sum();
            let p: Vec<f32> = weights.iter().map(|w| (w / total) as f32).collect();
            // Draw the symbol from p itself.
            let u: f64 = rng.random();
            let mut cumulative = 0.0;
            let symbol = p
                .iter()
                .position(|&q| {
                    cumulative += q as f64;
                    u < cumulative
                })
                .unwrap_or(k - 1);
            (symbol, frequencies(&p))
        })
        .collect()
}

fn decode_all(bytes: &[u8], stream: &[(usize, Vec<u32>)]) -> Vec<usize> {
    let mut decoder = Decoder::new(bytes).unwrap();
    let symbols = stream
        .iter()
        .map(|(_, table)| decoder.decode(table).unwrap())
        .collect();
    assert!(decoder.finished(), "bytes left over");
    symbols
}

#[test]
fn random_streams_round_trip_exactly_within_bytes_of_the_ideal_length() {
    let mut rng = StdRng::seed_from_u64(7);
    for (n, k) in [(1, 2), (10, 8), (1000, 8), (5000, 17), (3000, 256)] {
        let stream = random_stream(n, k, &mut rng);
        let bytes = encode(&stream).unwrap();
        let symbols: Vec<usize> = stream.iter().map(|(s, _)| *s).collect();
        assert_eq!(decode_all(&bytes, &stream), symbols, "n = {n}, k = {k}");
        // The 4 bytes of the final state, and up to a byte of rounding.
        let ideal_bytes = ideal_bits(&stream) / 8.0;
        let extra = bytes.len() as f64 - ideal_bytes;
        assert!(
            (-1.0..=5.0).contains(&extra),
            "n = {n}, k = {k}: {} bytes for an ideal {ideal_bytes:.1}",
            bytes.len()
        );
    }
}

#[test]
fn tables_sum_to_the_total_and_keep_every_symbol_codable() {
    for p in [
        vec![1.0f32, 0.0, 0.0],
        vec![0.5, 0.5],
        vec![1e-9, 0.3, 0.7 - 1e-9],
        vec![0.125; 8],
    ] {
        let table = frequencies(&p);
        assert_eq!(table.iter().sum::<u32>(), TOTAL, "{p:?}");
        assert!(table.iter().all(|&f| f >= 1), "{p:?}: {table:?}");
    }
    // A uniform distribution over 8 values costs exactly 3 bits a symbol.
    assert_eq!(frequencies(&[0.125; 8]), vec![TOTAL / 8; 8]);
}

#[test]
fn a_corrupted_or_truncated_stream_is_an_error_not_a_panic() {
    let mut rng = StdRng::seed_from_u64(8);
    let stream = random_stream(200, 8, &mut rng);
    let bytes = encode(&stream).unwrap();
    let mut decoder = Decoder::new(&bytes[..bytes.len() / 2]).unwrap();
    let result: Result<Vec<usize>, _> = stream.iter().map(|(_, t)| decoder.decode(t)).collect();
    assert!(result.is_err() || !decoder.finished());
    assert!(Decoder::new(&bytes[..3]).is_err());
    assert!(
        encode(&[(3, vec![TOTAL, 0, 0, 0])]).is_err(),
        "a zero-frequency symbol"
    );
}
