//! How the flows of this chapter (and chapter 8's hybrid model) stack their couplings: the order
//! of the dimensions is reversed after every coupling, so that the part one coupling leaves
//! unchanged is changed by the next. A reversal is a permutation: |det| = 1.

use burn::prelude::*;

// ANCHOR: reversal
/// z = f(x): every coupling g in order, the dimensions reversed after each.
///
/// # Shapes
/// - x: [batch, D]
/// - returns: [batch, D]
pub fn forward<C>(
    couplings: &[C],
    x: Tensor<2>,
    g: impl Fn(&C, Tensor<2>) -> Tensor<2>,
) -> Tensor<2> {
    couplings
        .iter()
        .fold(x, |z, coupling| g(coupling, z).flip([1]))
}

/// x = f^-1(z): the couplings undone in reverse order, each g^-1 after the dimensions are
/// reversed back.
///
/// # Shapes
/// - z: [batch, D]
/// - returns: [batch, D]
pub fn inverse<C>(
    couplings: &[C],
    z: Tensor<2>,
    g_inverse: impl Fn(&C, Tensor<2>) -> Tensor<2>,
) -> Tensor<2> {
    couplings
        .iter()
        .rev()
        .fold(z, |y, coupling| g_inverse(coupling, y.flip([1])))
}
// ANCHOR_END: reversal
