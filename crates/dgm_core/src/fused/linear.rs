//! A linear layer, y = x W + b, with its backward pass, on burn-flex.
//!
//! burn-flex multiplies on one thread below 192^3 multiply-adds and hands larger products to
//! `gemm`'s own split across the threads; at the batch of 64 the books train with, a VAE's
//! layers fall on both sides, and the split ones were slower inside a training step than on one
//! thread. Here the three products of a layer go through [`split_product`], which gives each
//! thread a block of the output's columns from 2^21 multiply-adds:
//!
//! - forward: y [m, n] = x [m, k] W [k, n] + b, b added to every row;
//! - backward: dx = dy W^T [m, k], dW = x^T dy [k, n], db = the column sums of dy [n].

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::Linear;
use burn::tensor::Tensor;

use super::matrix::{Matrix, split_product, transpose};
use super::{Values, on_flex, tensor};

/// y = x W + b over the last dimension of x: burn's `Linear::forward`, with the kernels of this
/// module on burn-flex.
///
/// # Shapes
/// - x: [..., k]
/// - weight: [k, n]
/// - bias: [n]
/// - returns: [..., n]
pub fn linear<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
) -> Tensor<D> {
    if !on_flex(&x.device()) {
        return burn::tensor::module::linear(x, weight, bias);
    }
    let dims = x.dims();
    let [k, n] = weight.dims();
    assert_eq!(
        dims[D - 1],
        k,
        "linear: x has {} features, the weights take {k}",
        dims[D - 1]
    );
    let bias = bias.unwrap_or_else(|| Tensor::zeros([n], &x.device()));
    // [..., k] -> [m, k], m the product of the leading dimensions
    let rows = x.reshape([dims[..D - 1].iter().product(), k]);
    let y = Tensor::<2>::from_dispatch(<Dispatch as LinearOps>::linear(
        rows.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    ));
    let mut out = dims;
    out[D - 1] = n;
    // [m, n] -> [..., n]
    y.reshape(out)
}

/// `layer.forward(x)` for burn's `Linear`, through [`linear`].
///
/// # Shapes
/// - x: [..., d_input]
/// - returns: [..., d_output]
pub fn linear_layer<const D: usize>(layer: &Linear, x: Tensor<D>) -> Tensor<D> {
    linear(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()))
}

/// The linear layer, implemented for burn-flex and for autodiff over burn-flex.
#[backend_extension(Flex, Autodiff)]
pub trait LinearOps: Backend {
    /// [`linear`] on rows: x [m, k], W [k, n], b [n].
    fn linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// The [rows, columns] of a matrix.
fn matrix_shape(values: &Values) -> [usize; 2] {
    match values.shape[..] {
        [rows, columns] => [rows, columns],
        ref other => panic!("linear: a matrix, not a tensor of shape {other:?}"),
    }
}

/// y = x W + b on burn-flex tensors.
fn forward(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let (x, weight, bias) = (Values::of(x), Values::of(weight), Values::of(bias));
    let ([m, k], [_, n]) = (matrix_shape(&x), matrix_shape(&weight));
    // y = b in every row, then y + x W
    let mut y: Vec<f32> = bias.slice().repeat(m);
    let (x_rows, w_rows) = (Matrix::rows(x.slice(), k), Matrix::rows(weight.slice(), n));
    split_product(&mut y, [m, n, k], x_rows, w_rows, true);
    tensor(y, &[m, n])
}

impl LinearOps for Flex {
    fn linear(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        forward(&x, &weight, &bias)
    }
}

/// What the backward step keeps: the input and the weights.
#[derive(Clone, Debug)]
struct Saved {
    x: FlexTensor,
    weight: FlexTensor,
}

/// The gradients of x, W and b from dy, each only where `wanted`.
fn gradients(saved: &Saved, grad: &FlexTensor, wanted: [bool; 3]) -> [Option<FlexTensor>; 3] {
    let (x, weight, grad) = (
        Values::of(&saved.x),
        Values::of(&saved.weight),
        Values::of(grad),
    );
    let ([m, k], [_, n]) = (matrix_shape(&x), matrix_shape(&weight));
    let dx = wanted[0].then(|| {
        tensor(
            input_gradient(grad.slice(), weight.slice(), [m, k, n]),
            &[m, k],
        )
    });
    // dW = x^T dy: [k, m] [m, n]
    let dw = wanted[1].then(|| {
        let mut dw = vec![0.0; k * n];
        let x_t = Matrix::transposed(x.slice(), k);
        split_product(
            &mut dw,
            [k, n, m],
            x_t,
            Matrix::rows(grad.slice(), n),
            false,
        );
        tensor(dw, &[k, n])
    });
    // db[j] = sum_i dy[i, j]
    let db = wanted[2].then(|| {
        let mut db = vec![0.0f32; n];
        for row in grad.slice().chunks_exact(n) {
            for (sum, &g) in db.iter_mut().zip(row) {
                *sum += g;
            }
        }
        tensor(db, &[n])
    });
    [dx, dw, db]
}

/// dx = dy W^T [m, k], from dy [m, n] and W [k, n].
///
/// `gemm` reads its left factor (after turning a row-major product around, the transposed
/// weights) in columns of 16 rows; where that factor is W^T read in place, it gathers its k n
/// values one at a time, which took as long as the multiply-adds themselves in the EBM's
/// Langevin steps. dx^T = W dy^T [k, m] gathers the m n values of dy instead and costs a
/// transpose of m k values after; the product whose copies move fewer values is taken.
fn input_gradient(dy: &[f32], weight: &[f32], [m, k, n]: [usize; 3]) -> Vec<f32> {
    if m * (n + k) < k * n {
        // dx^T = W dy^T: [k, n] [n, m]
        let mut dx_t = vec![0.0; k * m];
        let dy_t = Matrix::transposed(dy, n);
        split_product(&mut dx_t, [k, m, n], Matrix::rows(weight, n), dy_t, false);
        // [k, m] -> [m, k]
        transpose(&dx_t, k, m)
    } else {
        // dx = dy W^T: [m, n] [n, k]
        let mut dx = vec![0.0; m * k];
        let w_t = Matrix::transposed(weight, n);
        split_product(&mut dx, [m, k, n], Matrix::rows(dy, n), w_t, false);
        dx
    }
}

/// The backward step of the linear layer: the gradients of its parents x, W and b.
#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
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

impl<C: CheckpointStrategy> LinearOps for Autodiff<Flex, C> {
    fn linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let y = forward(x.primitive(), weight.primitive(), bias.primitive());
        match LinearBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let saved = Saved {
                    x: x.primitive().clone(),
                    weight: weight.primitive().clone(),
                };
                prep.finish(saved, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Int};

    use super::*;
    use crate::data::to_host;
    use crate::fused::matrix::SPLIT_WORK;
    use crate::fused::tests::{
        assert_close, assert_matches_finite_differences, normal, on_threads,
    };

    /// (m, k, n): one row, odd sizes, fewer columns than a block, two layers of the VAE at
    /// batch 64, above [`SPLIT_WORK`] forward and backward, and many rows through a narrow
    /// layer. The third and the last take dx = dy W^T in place, the others through dx^T.
    const CASES: [[usize; 3]; 6] = [
        [1, 5, 3],
        [7, 13, 33],
        [65, 129, 31],
        [64, 256, 1088],
        [64, 1088, 256],
        [640, 64, 96],
    ];

    /// y and the gradients of sum(y * w) for x, W and (with a bias) b, by `layer` on an
    /// autodiff device.
    fn outputs<const D: usize>(
        layer: impl Fn(Tensor<D>, Tensor<2>, Option<Tensor<1>>) -> Tensor<D>,
        (x, weight, bias): (&Tensor<D>, &Tensor<2>, Option<&Tensor<1>>),
        device: &Device,
    ) -> Vec<Vec<f32>> {
        let x = Tensor::<D>::from_data(x.to_data(), device).require_grad();
        let weight = Tensor::<2>::from_data(weight.to_data(), device).require_grad();
        let bias = bias.map(|b| Tensor::<1>::from_data(b.to_data(), device).require_grad());
        let y = layer(x.clone(), weight.clone(), bias.clone());
        // w = cos(0), cos(1), ...: the same weights on both sides, whatever other tests draw.
        let w = Tensor::<1, Int>::arange(0..y.shape().num_elements() as i64, device)
            .float()
            .cos()
            .reshape(y.dims());
        let grads = (y.clone() * w).sum().backward();
        let mut all = vec![
            to_host(y),
            to_host(x.grad(&grads).expect("x has a gradient")),
            to_host(weight.grad(&grads).expect("W has a gradient")),
        ];
        all.extend(bias.map(|b| to_host(b.grad(&grads).expect("b has a gradient"))));
        all
    }

    /// Ours against burn's `linear` (a matrix product and an addition), on `threads` threads.
    fn compare<const D: usize>(
        inputs: (&Tensor<D>, &Tensor<2>, Option<&Tensor<1>>),
        threads: usize,
        case: &str,
    ) {
        let device = Device::flex().autodiff();
        let ours = on_threads(threads, || outputs(linear, inputs, &device));
        let theirs = outputs(burn::tensor::module::linear, inputs, &device);
        for (name, (a, b)) in ["y", "dx", "dW", "db"].iter().zip(ours.iter().zip(&theirs)) {
            assert_close(
                a,
                b,
                1e-4,
                &format!("{name} of {case} on {threads} threads"),
            );
        }
        assert_eq!(ours.len(), theirs.len(), "{case}: the gradients computed");
    }

    #[test]
    fn the_layer_and_its_gradients_are_burns() {
        let device = Device::flex();
        device.seed(10);
        for [m, k, n] in CASES {
            let (x, weight, bias) = (
                normal([m, k], &device),
                normal([k, n], &device),
                normal([n], &device),
            );
            for threads in [1, 2, 3] {
                compare((&x, &weight, Some(&bias)), threads, &format!("{m}x{k}x{n}"));
            }
        }
    }

    #[test]
    fn a_layer_without_bias_over_three_dimensions_is_burns() {
        let device = Device::flex();
        device.seed(11);
        // [batch, t, k]: the rows of every sequence, as a transformer's projections take them.
        let (x, weight) = (normal([3, 5, 24], &device), normal([24, 40], &device));
        compare((&x, &weight, None), 2, "3x5x24 -> 40 without bias");
    }

    #[test]
    fn the_gradients_match_finite_differences() {
        let device = Device::flex().autodiff();
        device.seed(12);
        let (x, weight, bias) = (
            normal([3, 4], &device),
            normal([4, 5], &device),
            normal([5], &device),
        );
        let w = normal([3, 5], &device);
        // sin keeps the loss from being linear in every input.
        let loss = |x: Tensor<2>, weight: Tensor<2>, bias: Tensor<1>| {
            (linear(x, weight, Some(bias)).sin() * w.clone()).sum()
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
    fn the_product_does_not_depend_on_the_number_of_threads() {
        let device = Device::flex();
        device.seed(13);
        // Split by columns (wider than tall) and by rows.
        for [m, k, n] in [[64, 256, 1088], [1088, 256, 64]] {
            assert!(
                m * k * n >= SPLIT_WORK,
                "the case splits across the threads"
            );
            let (a, b) = (
                to_host(normal([m, k], &device)),
                to_host(normal([k, n], &device)),
            );
            let with = |threads: usize| {
                let mut out = vec![0.5; m * n];
                on_threads(threads, || {
                    let (a, b) = (Matrix::rows(&a, k), Matrix::rows(&b, n));
                    split_product(&mut out, [m, n, k], a, b, true)
                });
                out.into_iter().map(f32::to_bits).collect::<Vec<_>>()
            };
            assert_eq!(with(1), with(2), "{m}x{k}x{n}");
            assert_eq!(with(1), with(3), "{m}x{k}x{n}");
        }
    }
}
