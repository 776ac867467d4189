//! 2-D convolutions and transposed convolutions (NCHW, groups = 1) with backward passes of
//! their own, on burn-flex.
//!
//! A convolution is a matrix product once the input's patches are laid out as columns
//! ("im2col"): for one image, `col[(c, i, j), (oh, ow)] = x[c, oh s + i d - p, ow s + j d - p]`,
//! a [C_in kh kw, H_out W_out] matrix, and `y = W col + b` with W the weights as a
//! [C_out, C_in kh kw] matrix. Its backward is two more products: `dW = sum_n dY col^T` and
//! `dcol = W^T dY`, whose columns are added back into the image positions they were copied from
//! ("col2im") to give dx. A transposed convolution is the same three kernels in another order:
//! its forward is a convolution's input gradient, its input gradient a convolution.
//!
//! Images are split across the threads; the weight gradient sums fixed groups of images in a
//! fixed order, so a result does not depend on the number of threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use rayon::prelude::*;

use super::matrix::{Matrix, product};
use super::{Values, on_flex, tensor};

/// Multiply-adds from which the images of a product are split across the threads.
const PARALLEL_WORK: usize = 1 << 22;

/// The weight gradient is summed over at most this many groups of consecutive images.
const WEIGHT_GROUPS: usize = 8;

/// y = conv2d(x, W) + b: `burn::tensor::module::conv2d`, with kernels of this module on burn-flex
/// when `options.groups` is 1.
///
/// # Shapes
/// - x: [N, C_in, H, W]
/// - weight: [C_out, C_in, kh, kw]
/// - bias: [C_out]
/// - returns: [N, C_out, H_out, W_out], H_out = (H + 2 p - d (kh - 1) - 1) / s + 1
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    if on_flex(&x.device()) && options.groups == 1 {
        let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[0]], &x.device()));
        Tensor::from_dispatch(<Dispatch as ConvOps>::conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            options,
        ))
    } else {
        burn::tensor::module::conv2d(x, weight, bias, options)
    }
}

/// y = conv_transpose2d(x, W) + b: `burn::tensor::module::conv_transpose2d`, with kernels of
/// this module on burn-flex when `options.groups` is 1.
///
/// # Shapes
/// - x: [N, C_in, H, W]
/// - weight: [C_in, C_out, kh, kw]
/// - bias: [C_out]
/// - returns: [N, C_out, H_out, W_out], H_out = (H - 1) s - 2 p + d (kh - 1) + p_out + 1
pub fn conv_transpose2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvTransposeOptions<2>,
) -> Tensor<4> {
    if on_flex(&x.device()) && options.groups == 1 {
        let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[1]], &x.device()));
        Tensor::from_dispatch(<Dispatch as ConvOps>::conv_transpose2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            options,
        ))
    } else {
        burn::tensor::module::conv_transpose2d(x, weight, bias, options)
    }
}

/// The convolutions, implemented for burn-flex and for autodiff over burn-flex.
#[backend_extension(Flex, Autodiff)]
pub trait ConvOps: Backend {
    /// [`conv2d`].
    fn conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// [`conv_transpose2d`].
    fn conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self>;
}

/// Where the patches are: the image they are cut from (channels and size), the grid of patch
/// positions, and the kernel's size, stride, padding and dilation. A convolution cuts the
/// patches from its input; a transposed convolution from its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Patches {
    channels: usize,
    image: [usize; 2],
    grid: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
}

impl Patches {
    /// Rows of the patch matrix: C kh kw.
    fn rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// Columns of the patch matrix: the patch positions, H_grid W_grid.
    fn positions(&self) -> usize {
        self.grid[0] * self.grid[1]
    }

    /// Values of one image: C H W.
    fn image_len(&self) -> usize {
        self.channels * self.image[0] * self.image[1]
    }

    /// The patch positions o along `axis` whose tap `t` falls inside the image, where the image
    /// coordinate o s + t d - p (p the padding before the image) lies in 0..size.
    fn inside(&self, axis: usize, t: usize) -> std::ops::Range<usize> {
        let (s, offset) = (self.stride[axis], t * self.dilation[axis]);
        let (p, size) = (self.padding[axis], self.image[axis]);
        // o s + offset >= p  <=>  o >= ceil((p - offset) / s)
        let first = p.saturating_sub(offset).div_ceil(s);
        // o s + offset < p + size  <=>  o < ceil((p + size - offset) / s)
        let end = (p + size).saturating_sub(offset).div_ceil(s);
        first.min(self.grid[axis])..end.min(self.grid[axis])
    }

    /// The image coordinate of tap `t` at patch position `o` (one of [`Self::inside`]).
    fn coordinate(&self, axis: usize, o: usize, t: usize) -> usize {
        o * self.stride[axis] + t * self.dilation[axis] - self.padding[axis]
    }

    /// im2col: the patch matrix [C kh kw, H_grid W_grid] of one image [C, H, W], into the
    /// first H_grid W_grid columns of `col`, whose rows are `stride` values apart.
    fn cut(&self, image: &[f32], col: &mut [f32], stride: usize) {
        let [kh, kw] = self.kernel;
        let [gh, gw] = self.grid;
        let [h, w] = self.image;
        let sw = self.stride[1];
        for row in 0..self.rows() {
            let (c, i, j) = (row / (kh * kw), (row / kw) % kh, row % kw);
            let plane = &image[c * h * w..(c + 1) * h * w];
            let (rows, columns) = (self.inside(0, i), self.inside(1, j));
            let col_row = &mut col[row * stride..row * stride + gh * gw];
            for (oh, out) in col_row.chunks_exact_mut(gw).enumerate() {
                if !rows.contains(&oh) || columns.is_empty() {
                    out.fill(0.0);
                    continue;
                }
                let line = &plane[self.coordinate(0, oh, i) * w..];
                let first = self.coordinate(1, columns.start, j);
                out[..columns.start].fill(0.0);
                out[columns.end..].fill(0.0);
                let inside = &mut out[columns.clone()];
                if sw == 1 {
                    inside.copy_from_slice(&line[first..first + inside.len()]);
                } else {
                    let taps = line[first..].iter().step_by(sw);
                    for (value, &x) in inside.iter_mut().zip(taps) {
                        *value = x;
                    }
                }
            }
        }
    }

    /// col2im: every entry of the first H_grid W_grid columns of a patch matrix (rows `stride`
    /// values apart) added into the image position it was cut from.
    fn put_back(&self, col: &[f32], stride: usize, image: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let [gh, gw] = self.grid;
        let [h, w] = self.image;
        let sw = self.stride[1];
        image.fill(0.0);
        for row in 0..self.rows() {
            let (c, i, j) = (row / (kh * kw), (row / kw) % kh, row % kw);
            let plane = &mut image[c * h * w..(c + 1) * h * w];
            let (rows, columns) = (self.inside(0, i), self.inside(1, j));
            if columns.is_empty() {
                continue;
            }
            let col_row = &col[row * stride..row * stride + gh * gw];
            for oh in rows {
                let values = &col_row[oh * gw..(oh + 1) * gw][columns.clone()];
                let line = &mut plane[self.coordinate(0, oh, i) * w..];
                let first = self.coordinate(1, columns.start, j);
                if sw == 1 {
                    let pixels = &mut line[first..first + values.len()];
                    for (pixel, &value) in pixels.iter_mut().zip(values) {
                        *pixel += value;
                    }
                } else {
                    let pixels = line[first..].iter_mut().step_by(sw);
                    for (pixel, &value) in pixels.zip(values) {
                        *pixel += value;
                    }
                }
            }
        }
    }
}

/// How the images of a product are taken: `per_chunk` at a time, so that a chunk's patch
/// matrix has at least [`CHUNK_COLUMNS`] columns (small images are batched into one matrix
/// product), and whether the chunks are split across the threads (each product single-threaded)
/// or taken one after another with each product threaded.
#[derive(Clone, Copy, Debug)]
struct Chunks {
    images: usize,
    per_chunk: usize,
    parallel: bool,
    parallelism: gemm::Parallelism,
}

/// Columns a chunk's patch matrix has at least (unless the batch has fewer).
const CHUNK_COLUMNS: usize = 512;

impl Chunks {
    /// The chunks of `images` images of `positions` patch positions, for `work` multiply-adds.
    fn new(images: usize, positions: usize, work: usize) -> Chunks {
        let per_chunk = CHUNK_COLUMNS.div_ceil(positions).clamp(1, images.max(1));
        let count = images.div_ceil(per_chunk);
        let threads = rayon::current_num_threads();
        let (parallel, parallelism) = if work < PARALLEL_WORK || threads == 1 {
            (false, gemm::Parallelism::None)
        } else if count >= 2 * threads {
            (true, gemm::Parallelism::None)
        } else {
            (false, gemm::Parallelism::Rayon(0))
        };
        Chunks {
            images,
            per_chunk,
            parallel,
            parallelism,
        }
    }

    /// The images of chunk `c`.
    fn range(&self, c: usize) -> std::ops::Range<usize> {
        c * self.per_chunk..((c + 1) * self.per_chunk).min(self.images)
    }

    /// `f(c, slot, scratch)` for every chunk c and its slot of `out` (`out` holds `per_chunk`
    /// times `per_image` values per chunk), across the threads when `parallel`, with two scratch
    /// buffers of `scratch` values each per thread.
    fn each(
        &self,
        out: &mut [f32],
        per_image: usize,
        scratch: [usize; 2],
        f: impl Fn(usize, &mut [f32], &mut [Vec<f32>; 2]) + Sync,
    ) {
        let buffers = || scratch.map(|n| vec![0.0f32; n]);
        let slot = self.per_chunk * per_image;
        if self.parallel {
            out.par_chunks_mut(slot)
                .enumerate()
                .for_each_init(buffers, |buffers, (c, out)| f(c, out, buffers));
        } else {
            let mut buffers = buffers();
            for (c, out) in out.chunks_mut(slot).enumerate() {
                f(c, out, &mut buffers);
            }
        }
    }
}

/// The patch matrices of `images` (each [C, H, W]) side by side: [C kh kw, b H_grid W_grid].
fn cut_chunk(p: &Patches, images: &[f32], col: &mut [f32]) {
    let (positions, b) = (p.positions(), images.len() / p.image_len());
    for (k, image) in images.chunks_exact(p.image_len()).enumerate() {
        p.cut(image, &mut col[k * positions..], b * positions);
    }
}

/// [b, R, P] -> [R, b P]: the per-image matrices of a chunk side by side.
fn side_by_side(blocks: &[f32], r: usize, positions: usize, out: &mut [f32]) {
    let b = blocks.len() / (r * positions);
    for (k, block) in blocks.chunks_exact(r * positions).enumerate() {
        for (row, values) in block.chunks_exact(positions).enumerate() {
            let start = row * b * positions + k * positions;
            out[start..start + positions].copy_from_slice(values);
        }
    }
}

/// [R, b P] -> [b, R, P]: the inverse of [`side_by_side`].
fn one_per_image(wide: &[f32], r: usize, positions: usize, blocks: &mut [f32]) {
    let b = blocks.len() / (r * positions);
    for (k, block) in blocks.chunks_exact_mut(r * positions).enumerate() {
        for (row, values) in block.chunks_exact_mut(positions).enumerate() {
            let start = row * b * positions + k * positions;
            values.copy_from_slice(&wide[start..start + positions]);
        }
    }
}

/// out[n] = W im2col(image[n]) for every image: the convolution's forward (W [R, C kh kw]).
/// Returns [N, R, grid].
fn weights_times_patches(images: &[f32], weight: &[f32], r: usize, p: &Patches) -> Vec<f32> {
    let n = images.len() / p.image_len();
    let (rows, positions) = (p.rows(), p.positions());
    let mut out = vec![0.0f32; n * r * positions];
    let chunks = Chunks::new(n, positions, n * r * rows * positions);
    let wide = chunks.per_chunk * positions;
    chunks.each(
        &mut out,
        r * positions,
        [rows * wide, r * wide],
        |c, out, [col, y]| {
            let range = chunks.range(c);
            let columns = range.len() * positions;
            let images = &images[range.start * p.image_len()..range.end * p.image_len()];
            cut_chunk(p, images, col);
            let (a, b) = (Matrix::rows(weight, rows), Matrix::rows(col, columns));
            if range.len() == 1 {
                product(out, [r, columns, rows], a, b, false, chunks.parallelism);
            } else {
                let y = &mut y[..r * columns];
                product(y, [r, columns, rows], a, b, false, chunks.parallelism);
                one_per_image(y, r, positions, out);
            }
        },
    );
    out
}

/// image[n] = col2im(W^T small[n]) for every n: the convolution's input gradient (small = dY,
/// [N, R, grid]; W [R, C kh kw]). Returns [N, C, H, W].
fn patches_put_back(small: &[f32], weight: &[f32], r: usize, p: &Patches) -> Vec<f32> {
    let (rows, positions) = (p.rows(), p.positions());
    let n = small.len() / (r * positions);
    let mut out = vec![0.0f32; n * p.image_len()];
    let chunks = Chunks::new(n, positions, n * r * rows * positions);
    let wide = chunks.per_chunk * positions;
    chunks.each(
        &mut out,
        p.image_len(),
        [rows * wide, r * wide],
        |c, images, [col, dy]| {
            let range = chunks.range(c);
            let columns = range.len() * positions;
            let small = &small[range.start * r * positions..range.end * r * positions];
            let small = if range.len() == 1 {
                small
            } else {
                side_by_side(small, r, positions, dy);
                &dy[..r * columns]
            };
            let col = &mut col[..rows * columns];
            let (a, b) = (
                Matrix::transposed(weight, rows),
                Matrix::rows(small, columns),
            );
            product(col, [rows, columns, r], a, b, false, chunks.parallelism);
            for (k, image) in images.chunks_exact_mut(p.image_len()).enumerate() {
                p.put_back(&col[k * positions..], columns, image);
            }
        },
    );
    out
}

/// dW = sum over n of small[n] im2col(image[n])^T: the weight gradient ([R, C kh kw]), summed
/// chunk by chunk within at most [`WEIGHT_GROUPS`] groups of consecutive chunks, then the
/// groups in order: the same sums in the same order at any number of threads.
fn weight_gradient(small: &[f32], images: &[f32], r: usize, p: &Patches) -> Vec<f32> {
    let (rows, positions) = (p.rows(), p.positions());
    let n = images.len() / p.image_len();
    let chunks = Chunks::new(n, positions, n * r * rows * positions);
    let count = n.div_ceil(chunks.per_chunk);
    let per_group = count.div_ceil(WEIGHT_GROUPS.min(count));
    let groups = count.div_ceil(per_group);
    // The groups play the part of the images of `Chunks::each`, one at a time: a partial sum
    // each.
    let by_group = Chunks::new(groups, CHUNK_COLUMNS, n * r * rows * positions);
    let mut partial = vec![0.0f32; groups * r * rows];
    let wide = chunks.per_chunk * positions;
    by_group.each(
        &mut partial,
        r * rows,
        [rows * wide, r * wide],
        |g, sum, [col, dy]| {
            for (first, c) in (g * per_group..((g + 1) * per_group).min(count)).enumerate() {
                let range = chunks.range(c);
                let columns = range.len() * positions;
                cut_chunk(
                    p,
                    &images[range.start * p.image_len()..range.end * p.image_len()],
                    col,
                );
                let small = &small[range.start * r * positions..range.end * r * positions];
                let small = if range.len() == 1 {
                    small
                } else {
                    side_by_side(small, r, positions, dy);
                    &dy[..r * columns]
                };
                let (a, b) = (
                    Matrix::rows(small, columns),
                    Matrix::transposed(&col[..rows * columns], columns),
                );
                product(
                    sum,
                    [r, rows, columns],
                    a,
                    b,
                    first > 0,
                    by_group.parallelism,
                );
            }
        },
    );
    let (total, rest) = partial.split_at_mut(r * rows);
    for group in rest.chunks_exact(r * rows) {
        for (t, &g) in total.iter_mut().zip(group) {
            *t += g;
        }
    }
    partial.truncate(r * rows);
    partial
}

/// db[c] = sum over n and positions of dY[n, c, ...]: the bias gradient.
fn channel_sums(grad: &[f32], channels: usize, images: usize) -> Vec<f32> {
    let plane = grad.len() / (images * channels);
    let mut sums = vec![0.0f32; channels];
    for image in grad.chunks_exact(channels * plane) {
        for (sum, values) in sums.iter_mut().zip(image.chunks_exact(plane)) {
            *sum += values.iter().sum::<f32>();
        }
    }
    sums
}

/// Adds b[c] to every value of channel c of images [N, C, plane].
fn add_bias(out: &mut [f32], bias: &[f32], plane: usize) {
    for (values, &b) in out.chunks_exact_mut(plane).zip(bias.iter().cycle()) {
        for v in values {
            *v += b;
        }
    }
}

/// The patches of a convolution: cut from x, one per output position.
fn conv_patches(x: &[usize], weight: &[usize], options: &ConvOptions<2>) -> Patches {
    assert_eq!(
        x[1], weight[1],
        "conv2d: x has {} channels, the weights {}",
        x[1], weight[1]
    );
    // H_out = (H + p_before + p_after - d (kh - 1) - 1) / s + 1
    let out = |axis: usize| {
        let (before, after) = options.padding[axis];
        let reach = options.dilation[axis] * (weight[2 + axis] - 1) + 1;
        (x[2 + axis] + before + after - reach) / options.stride[axis] + 1
    };
    Patches {
        channels: x[1],
        image: [x[2], x[3]],
        grid: [out(0), out(1)],
        kernel: [weight[2], weight[3]],
        stride: options.stride,
        padding: options.padding.map(|(before, _)| before),
        dilation: options.dilation,
    }
}

/// The patches of a transposed convolution: cut from its output, one per input position.
fn transpose_patches(x: &[usize], weight: &[usize], options: &ConvTransposeOptions<2>) -> Patches {
    assert_eq!(
        x[1], weight[0],
        "conv_transpose2d: x has {} channels, the weights {}",
        x[1], weight[0]
    );
    // H_out = (H - 1) s - 2 p + d (kh - 1) + p_out + 1
    let out = |axis: usize| {
        (x[2 + axis] - 1) * options.stride[axis]
            + options.dilation[axis] * (weight[2 + axis] - 1)
            + options.padding_out[axis]
            + 1
            - 2 * options.padding[axis]
    };
    Patches {
        channels: weight[1],
        image: [out(0), out(1)],
        grid: [x[2], x[3]],
        kernel: [weight[2], weight[3]],
        stride: options.stride,
        padding: options.padding,
        dilation: options.dilation,
    }
}

/// Which of the two convolutions, with its patches.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A convolution: patches cut from its input.
    Conv(Patches),
    /// A transposed convolution: patches cut from its output.
    Transpose(Patches),
}

impl Kind {
    fn conv(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Kind {
        Kind::Conv(conv_patches(
            x.layout().shape(),
            weight.layout().shape(),
            options,
        ))
    }

    fn transpose(x: &FlexTensor, weight: &FlexTensor, options: &ConvTransposeOptions<2>) -> Kind {
        Kind::Transpose(transpose_patches(
            x.layout().shape(),
            weight.layout().shape(),
            options,
        ))
    }
}

/// The forward of either convolution on burn-flex tensors.
fn forward(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor, kind: Kind) -> FlexTensor {
    let (x, weight) = (Values::of(x), Values::of(weight));
    let (batch, r) = (x.shape[0], weight.shape[0]);
    let (mut y, shape) = match kind {
        // y[n] = W col(x[n])
        Kind::Conv(p) => (
            weights_times_patches(x.slice(), weight.slice(), r, &p),
            [batch, r, p.grid[0], p.grid[1]],
        ),
        // y[n] = col2im(W^T x[n])
        Kind::Transpose(p) => (
            patches_put_back(x.slice(), weight.slice(), r, &p),
            [batch, p.channels, p.image[0], p.image[1]],
        ),
    };
    add_bias(&mut y, Values::of(bias).slice(), shape[2] * shape[3]);
    tensor(y, &shape)
}

impl ConvOps for Flex {
    fn conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let kind = Kind::conv(&x, &weight, &options);
        forward(&x, &weight, &bias, kind)
    }

    fn conv_transpose2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvTransposeOptions<2>,
    ) -> FlexTensor {
        let kind = Kind::transpose(&x, &weight, &options);
        forward(&x, &weight, &bias, kind)
    }
}

/// What a backward step keeps: the input, the weights and the kind of convolution.
#[derive(Clone, Debug)]
struct Saved {
    x: FlexTensor,
    weight: FlexTensor,
    kind: Kind,
}

/// The gradients of x, W and b from dY, each only where `wanted`.
fn gradients(saved: &Saved, grad: &FlexTensor, wanted: [bool; 3]) -> [Option<FlexTensor>; 3] {
    let (x, weight, grad) = (
        Values::of(&saved.x),
        Values::of(&saved.weight),
        Values::of(grad),
    );
    let r = weight.shape[0];
    let (dx, dw) = match saved.kind {
        // dx[n] = col2im(W^T dY[n]), dW = sum_n dY[n] col(x[n])^T
        Kind::Conv(p) => (
            wanted[0].then(|| patches_put_back(grad.slice(), weight.slice(), r, &p)),
            wanted[1].then(|| weight_gradient(grad.slice(), x.slice(), r, &p)),
        ),
        // dx[n] = W col(dY[n]), dW = sum_n x[n] col(dY[n])^T
        Kind::Transpose(p) => (
            wanted[0].then(|| weights_times_patches(grad.slice(), weight.slice(), r, &p)),
            wanted[1].then(|| weight_gradient(x.slice(), grad.slice(), r, &p)),
        ),
    };
    // db[c] = sum over n and positions of dY[n, c]
    let db = wanted[2].then(|| channel_sums(grad.slice(), grad.shape[1], grad.shape[0]));
    [
        dx.map(|dx| tensor(dx, &x.shape)),
        dw.map(|dw| tensor(dw, &weight.shape)),
        db.map(|db| tensor(db, &grad.shape[1..2])),
    ]
}

/// The backward step of either convolution: the gradients of its parents x, W and b.
#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let wanted = ops.parents.each_ref().map(Option::is_some);
        let computed = gradients(&ops.state, &grad, wanted);
        for (parent, gradient) in ops.parents.into_iter().zip(computed) {
            if let (Some(parent), Some(gradient)) = (parent, gradient) {
                grads.register::<Flex>(parent.id, gradient);
            }
        }
    }
}

/// Either convolution under autodiff: the forward on burn-flex, and [`ConvBackward`] recorded
/// with x, W and b as its parents (a bias of zeros that needs no gradient is a constant).
fn tracked<C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<Flex, C>>,
    weight: FloatTensor<Autodiff<Flex, C>>,
    bias: FloatTensor<Autodiff<Flex, C>>,
    kind: Kind,
) -> FloatTensor<Autodiff<Flex, C>> {
    let y = forward(x.primitive(), weight.primitive(), bias.primitive(), kind);
    match ConvBackward
        .prepare::<C>([x.node(), weight.node(), bias.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let saved = Saved {
                x: x.primitive().clone(),
                weight: weight.primitive().clone(),
                kind,
            };
            prep.finish(saved, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

impl<C: CheckpointStrategy> ConvOps for Autodiff<Flex, C> {
    fn conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let kind = Kind::conv(x.primitive(), weight.primitive(), &options);
        tracked::<C>(x, weight, bias, kind)
    }

    fn conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        let kind = Kind::transpose(x.primitive(), weight.primitive(), &options);
        tracked::<C>(x, weight, bias, kind)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Int};

    use super::*;
    use crate::data::to_host;
    use crate::fused::tests::{assert_matches_finite_differences, normal, on_threads};

    /// (N, C_in, C_out, H, W, kernel, stride, padding, dilation): batch 1, C_in = 1, odd sizes,
    /// stride 2, padding 0 and 1, dilation 2, a 1x1 kernel, and a case large enough to split the
    /// images across the threads.
    const CASES: [[usize; 9]; 6] = [
        [1, 1, 3, 5, 7, 3, 1, 1, 1],
        [2, 3, 4, 7, 6, 3, 2, 0, 1],
        [3, 2, 5, 9, 9, 4, 2, 1, 1],
        [2, 3, 2, 8, 7, 3, 1, 2, 2],
        [3, 5, 4, 6, 5, 1, 1, 0, 1],
        [8, 16, 32, 16, 16, 3, 1, 1, 1],
    ];

    /// |a - b| <= 1e-4 (1 + |b|) elementwise: the products sum in another order than burn's.
    fn assert_close(a: Vec<f32>, b: Vec<f32>, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths differ");
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// y and the gradients of sum(y * w) for x, W and b, by `conv` on an autodiff device.
    fn outputs(
        conv: impl Fn(Tensor<4>, Tensor<4>, Option<Tensor<1>>) -> Tensor<4>,
        inputs: (&Tensor<4>, &Tensor<4>, &Tensor<1>),
        device: &Device,
    ) -> [Vec<f32>; 4] {
        let copy = |t: Tensor<4>| Tensor::<4>::from_data(t.into_data(), device).require_grad();
        let (x, weight) = (copy(inputs.0.clone()), copy(inputs.1.clone()));
        let bias = Tensor::<1>::from_data(inputs.2.clone().into_data(), device).require_grad();
        let y = conv(x.clone(), weight.clone(), Some(bias.clone()));
        // w = cos(0), cos(1), ...: the same weights on both sides, whatever other tests draw.
        let w = Tensor::<1, Int>::arange(0..y.shape().num_elements() as i64, device)
            .float()
            .cos()
            .reshape(y.dims());
        let grads = (y.clone() * w).sum().backward();
        [
            to_host(y),
            to_host(x.grad(&grads).expect("x has a gradient")),
            to_host(weight.grad(&grads).expect("W has a gradient")),
            to_host(bias.grad(&grads).expect("b has a gradient")),
        ]
    }

    fn compare(
        fused: impl Fn(Tensor<4>, Tensor<4>, Option<Tensor<1>>) -> Tensor<4>,
        burn: impl Fn(Tensor<4>, Tensor<4>, Option<Tensor<1>>) -> Tensor<4>,
        inputs: (&Tensor<4>, &Tensor<4>, &Tensor<1>),
        case: &str,
    ) {
        let device = Device::flex().autodiff();
        let ours = outputs(fused, inputs, &device);
        let theirs = outputs(burn, inputs, &device);
        for (name, (a, b)) in ["y", "dx", "dW", "db"]
            .iter()
            .zip(ours.into_iter().zip(theirs))
        {
            assert_close(a, b, &format!("{name} of {case}"));
        }
    }

    #[test]
    fn the_convolution_and_its_gradients_are_burns() {
        let device = Device::flex();
        device.seed(7);
        for [n, c_in, c_out, h, w, k, s, p, d] in CASES {
            let x = normal([n, c_in, h, w], &device);
            let weight = normal([c_out, c_in, k, k], &device);
            let bias = normal([c_out], &device);
            let options = ConvOptions::new([s, s], [p, p], [d, d], 1);
            let case = format!("conv {:?}", (n, c_in, c_out, h, w, k, s, p, d));
            compare(
                |x, w, b| conv2d(x, w, b, options.clone()),
                |x, w, b| burn::tensor::module::conv2d(x, w, b, options.clone()),
                (&x, &weight, &bias),
                &case,
            );
        }
    }

    #[test]
    fn the_transposed_convolution_and_its_gradients_are_burns() {
        let device = Device::flex();
        device.seed(8);
        for [n, c_in, c_out, h, w, k, s, p, d] in CASES {
            // An output padding needs a stride above it.
            let padding_out = if s > 1 { 1 } else { 0 };
            let x = normal([n, c_in, h, w], &device);
            let weight = normal([c_in, c_out, k, k], &device);
            let bias = normal([c_out], &device);
            let options = ConvTransposeOptions::new([s, s], [p, p], [padding_out; 2], [d, d], 1);
            let case = format!("transpose {:?}", (n, c_in, c_out, h, w, k, s, p, d));
            compare(
                |x, w, b| conv_transpose2d(x, w, b, options.clone()),
                |x, w, b| burn::tensor::module::conv_transpose2d(x, w, b, options.clone()),
                (&x, &weight, &bias),
                &case,
            );
        }
    }

    #[test]
    fn the_gradients_match_finite_differences() {
        let device = Device::flex().autodiff();
        device.seed(9);
        // Stride 2 down the rows, none across; padding 1 on the rows only.
        let options = ConvOptions::new([2, 1], [1, 0], [1, 1], 1);
        let (x, weight, bias) = (
            normal([2, 2, 5, 4], &device),
            normal([3, 2, 3, 2], &device),
            normal([3], &device),
        );
        let w = normal([2, 3, 3, 3], &device);
        let loss = |x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>| {
            (conv2d(x, weight, Some(bias), options.clone()) * w.clone()).sum()
        };
        assert_matches_finite_differences(
            |x| loss(x, weight.clone(), bias.clone()),
            x.clone(),
            "dx",
        );
        assert_matches_finite_differences(
            |weight| loss(x.clone(), weight, bias.clone()),
            weight.clone(),
            "dW",
        );
        assert_matches_finite_differences(|bias| loss(x.clone(), weight.clone(), bias), bias, "db");
    }

    #[test]
    fn the_weight_gradient_does_not_depend_on_the_number_of_threads() {
        let p = conv_patches(
            &[8, 16, 16, 16],
            &[32, 16, 3, 3],
            &ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        );
        let device = Device::flex();
        let images = to_host(normal([8, 16, 16, 16], &device));
        let small = to_host(normal([8, 32, 16, 16], &device));
        let with = |threads: usize| {
            let dw = on_threads(threads, || weight_gradient(&small, &images, 32, &p));
            dw.into_iter().map(f32::to_bits).collect::<Vec<_>>()
        };
        assert_eq!(with(1), with(2));
        assert_eq!(with(1), with(3));
    }
}
