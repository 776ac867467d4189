//! Matrix products on slices through the `gemm` crate, for the fused ops that are matrix
//! products with copies around them (the convolutions, attention, linear layers).

use rayon::prelude::*;

/// Multiply-adds from which [`split_product`] gives each thread a block of the output's
/// columns.
pub const SPLIT_WORK: usize = 1 << 21;

/// Columns of a block of [`split_product`] are a multiple of this (two AVX2 registers).
const BLOCK_COLUMNS: usize = 16;

/// A matrix in memory: its values and the strides between rows and between columns.
#[derive(Clone, Copy)]
pub struct Matrix<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl Matrix<'_> {
    /// A row-major [rows, columns] matrix.
    pub fn rows(data: &[f32], columns: usize) -> Matrix<'_> {
        Matrix {
            data,
            row_stride: columns,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix with `columns` columns.
    pub fn transposed(data: &[f32], columns: usize) -> Matrix<'_> {
        Matrix {
            data,
            row_stride: 1,
            col_stride: columns,
        }
    }

    /// Whether its values reach every element of a [rows, columns] matrix.
    fn covers(&self, rows: usize, columns: usize) -> bool {
        rows == 0
            || columns == 0
            || (rows - 1) * self.row_stride + (columns - 1) * self.col_stride < self.data.len()
    }
}

/// The transpose of a row-major [rows, columns] matrix: row-major [columns, rows], copied in
/// tiles of [`BLOCK_COLUMNS`] x [`BLOCK_COLUMNS`] so that the rows read and written stay in cache.
pub fn transpose(values: &[f32], rows: usize, columns: usize) -> Vec<f32> {
    assert_eq!(
        values.len(),
        rows * columns,
        "transpose: not rows x columns values"
    );
    let mut out = vec![0.0; rows * columns];
    for i0 in (0..rows).step_by(BLOCK_COLUMNS) {
        for j0 in (0..columns).step_by(BLOCK_COLUMNS) {
            for i in i0..(i0 + BLOCK_COLUMNS).min(rows) {
                for j in j0..(j0 + BLOCK_COLUMNS).min(columns) {
                    // out[j, i] = values[i, j]
                    out[j * rows + i] = values[i * columns + j];
                }
            }
        }
    }
    out
}

/// out [m, n] (row-major) = a [m, k] b [k, n], or out + a b with `accumulate`.
pub fn product(
    out: &mut [f32],
    [m, n, k]: [usize; 3],
    a: Matrix,
    b: Matrix,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    assert_eq!(out.len(), m * n, "product: the output is not m x n");
    scaled_product(out, n, [m, n, k], a, b, 1.0, accumulate, parallelism);
}

/// out [m, n] (row-major) = a [m, k] b [k, n], or out + a b with `accumulate`, with the
/// longer side of out split into one block per thread from [`SPLIT_WORK`] multiply-adds.
///
/// A block of columns multiplies all of a by its columns of b, a block of rows its rows of a by
/// all of b: one `gemm` call on one thread each, so each thread reads (and packs) only its
/// share of the split factor. `gemm`'s own split of the same product (`Parallelism::Rayon`)
/// was slower inside a training step at batch 64. Every value of out is summed in the same
/// order whatever the number of threads.
pub fn split_product(
    out: &mut [f32],
    [m, n, k]: [usize; 3],
    a: Matrix,
    b: Matrix,
    accumulate: bool,
) {
    let none = gemm::Parallelism::None;
    let threads = rayon::current_num_threads();
    let split_rows = m > n;
    let extent = if split_rows { m } else { n };
    if threads == 1 || m * n * k < SPLIT_WORK || extent < 2 * BLOCK_COLUMNS {
        return product(out, [m, n, k], a, b, accumulate, none);
    }
    assert_eq!(out.len(), m * n, "product: the output is not m x n");
    assert!(
        a.covers(m, k) && b.covers(k, n),
        "product: a factor is too short"
    );
    let width = extent.div_ceil(threads).next_multiple_of(BLOCK_COLUMNS);
    let out = SharedOut(out.as_mut_ptr());
    (0..extent.div_ceil(width))
        .into_par_iter()
        .for_each(|block| {
            let first = block * width;
            let size = width.min(extent - first);
            // The block's rows of a and out, or its columns of b and out.
            let (rows, columns, a, b, offset) = if split_rows {
                let a = Matrix {
                    data: &a.data[first * a.row_stride..],
                    ..a
                };
                (size, n, a, b, first * n)
            } else {
                let b = Matrix {
                    data: &b.data[first * b.col_stride..],
                    ..b
                };
                (m, size, a, b, first)
            };
            // SAFETY: the block writes the rows x columns values out[offset + i * n + j], inside
            // out (checked above) and disjoint from every other block's rows or columns; a and b
            // (whose block starts at its first row or column) hold every value read.
            unsafe {
                raw_product(
                    out.at(offset),
                    n,
                    [rows, columns, k],
                    a,
                    b,
                    1.0,
                    accumulate,
                    none,
                );
            }
        });
}

/// The output of [`split_product`], shared by the threads that write its blocks.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: the threads write disjoint values (see `split_product`).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// A pointer to the `offset`th value.
    fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: offsets stay inside the output (see `split_product`).
        unsafe { self.0.add(offset) }
    }
}

/// out[i * out_stride + j] = scale sum_l a[i, l] b[l, j] for i < m, j < n, or that added to
/// out with `accumulate`: the rows of the output may lie `out_stride` apart, with other values
/// between them left as they are.
#[allow(clippy::too_many_arguments)]
pub(super) fn scaled_product(
    out: &mut [f32],
    out_stride: usize,
    [m, n, k]: [usize; 3],
    a: Matrix,
    b: Matrix,
    scale: f32,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    assert!(n <= out_stride, "product: output rows overlap");
    assert!(
        m == 0 || n == 0 || (m - 1) * out_stride + n <= out.len(),
        "product: the output is too short"
    );
    assert!(
        a.covers(m, k) && b.covers(k, n),
        "product: a factor is too short"
    );
    // SAFETY: `out` holds the m x n values written (rows `out_stride` apart, the first two
    // assertions), `a` and `b` every value read (the third), and `out`, borrowed mutably,
    // overlaps neither.
    unsafe {
        raw_product(
            out.as_mut_ptr(),
            out_stride,
            [m, n, k],
            a,
            b,
            scale,
            accumulate,
            parallelism,
        );
    }
}

/// The one `gemm` call of this module: out[i * out_stride + j] = scale sum_l a[i, l] b[l, j]
/// for i < m, j < n, or that added to out with `accumulate`.
///
/// # Safety
/// `out` must point at m rows of n writable values `out_stride` apart that nothing else reads
/// or writes during the call, and `a` and `b` must cover [m, k] and [k, n].
#[allow(clippy::too_many_arguments)]
unsafe fn raw_product(
    out: *mut f32,
    out_stride: usize,
    [m, n, k]: [usize; 3],
    a: Matrix,
    b: Matrix,
    scale: f32,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    // SAFETY: the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            out_stride as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}
