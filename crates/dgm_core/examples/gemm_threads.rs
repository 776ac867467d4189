//! Microseconds of one `gemm` matrix product on one thread and split by `gemm` across the
//! pool, for the shapes of the book's MLPs (batch 64, widths 64 to 1088): whether a product
//! below burn-flex's threshold for threads (192^3 multiply-adds) would gain from a second one.
//! Then, on one thread, the input gradient of a linear layer, dx = dy W^T, read in place and
//! as dx^T = W dy^T followed by a transpose (`fused::linear` takes the second where it copies
//! fewer values).
//!
//! `cargo run --release -p dgm_core --example gemm_threads -- 2` (the number of threads).

use std::time::Instant;

use dgm_core::fused::matrix::{Matrix, product, split_product, transpose};

/// The products timed, as [m, n, k]: out [m, n] = a [m, k] b [k, n].
const SHAPES: [[usize; 3]; 5] = [
    [64, 1088, 256],
    [64, 256, 1088],
    [64, 256, 256],
    [256, 256, 64],
    [64, 512, 64],
];

/// The input gradients timed, as [m, k, n]: dx [m, k] = dy [m, n] W^T, W [k, n]: the EBM's
/// hidden layers, the VAE's decoder output and a transformer's rows through a layer of 256.
const GRADIENTS: [[usize; 3]; 3] = [[64, 512, 512], [64, 256, 1088], [2560, 256, 256]];

/// Products per timing.
const REPETITIONS: u32 = 2000;

/// Mean microseconds of one call of `once`, after one call to warm the caches.
fn microseconds(mut once: impl FnMut()) -> f64 {
    once();
    let start = Instant::now();
    for _ in 0..REPETITIONS {
        once();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(REPETITIONS)
}

fn main() {
    let threads = std::env::args()
        .nth(1)
        .map_or(Ok(2), |t| t.parse::<usize>());
    let Ok(threads) = threads else {
        eprintln!("usage: gemm_threads [THREADS]");
        std::process::exit(2);
    };
    dgm_core::backend::set_threads(threads);
    println!(
        "| m, n, k | multiply-adds | 1 thread (us) | {threads} threads, gemm's split (us) | {threads} threads, split_product (us) |"
    );
    println!("|---|---|---|---|---|");
    dgm_core::backend::on_worker(|| {
        for [m, n, k] in SHAPES {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32).cos()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32).sin()).collect();
            let mut out = vec![0.0; m * n];
            let mut timed = |parallelism| {
                microseconds(|| {
                    product(
                        &mut out,
                        [m, n, k],
                        Matrix::rows(&a, k),
                        Matrix::rows(&b, n),
                        false,
                        parallelism,
                    )
                })
            };
            let serial = timed(gemm::Parallelism::None);
            let split = timed(gemm::Parallelism::Rayon(0));
            let columns = microseconds(|| {
                split_product(
                    &mut out,
                    [m, n, k],
                    Matrix::rows(&a, k),
                    Matrix::rows(&b, n),
                    false,
                )
            });
            println!(
                "| {m}, {n}, {k} | {:.1} M | {serial:.1} | {split:.1} | {columns:.1} |",
                (m * n * k) as f64 / 1e6
            );
        }
    });
    println!();
    println!("| dx = dy W^T: m, k, n | in place (us) | as dx^T, then transposed (us) |");
    println!("|---|---|---|");
    for [m, k, n] in GRADIENTS {
        let dy: Vec<f32> = (0..m * n).map(|i| (i as f32).cos()).collect();
        let w: Vec<f32> = (0..k * n).map(|i| (i as f32).sin()).collect();
        let none = gemm::Parallelism::None;
        let mut dx = vec![0.0; m * k];
        let in_place = microseconds(|| {
            let w_t = Matrix::transposed(&w, n);
            product(&mut dx, [m, k, n], Matrix::rows(&dy, n), w_t, false, none)
        });
        let mut dx_t = vec![0.0; k * m];
        let turned = microseconds(|| {
            let dy_t = Matrix::transposed(&dy, n);
            product(&mut dx_t, [k, m, n], Matrix::rows(&w, n), dy_t, false, none);
            // [k, m] -> [m, k]
            std::hint::black_box(transpose(&dx_t, k, m));
        });
        println!("| {m}, {k}, {n} | {in_place:.1} | {turned:.1} |");
    }
}
