//! The causal 1-D convolution, the building block of the ARM.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use dgm_core::fused::{causal_windows, linear_layer};

// ANCHOR: causal_conv
/// A 1-D convolution whose output at position d sees only the inputs before d (type A) or up to
/// and including d (type B).
///
/// A convolution with kernel size k is one linear map applied to every window of k consecutive
/// positions. Here the windows are cut out explicitly: the sequence is padded on the left with
/// zeros, window d is the k positions ending at d (type B) or at d - 1 (type A), and all the
/// windows go through a single `Linear` layer of k * C_in inputs: one large matrix product.
#[derive(Module, Debug)]
pub struct CausalConv1d {
    /// Weights [k * C_in, C_out]: rows j * C_in..(j + 1) * C_in are the kernel's tap j.
    window: Linear,
    kernel_size: usize,
    /// Whether position d is excluded from its own output (type A).
    exclude_current: bool,
}

impl CausalConv1d {
    pub fn new(
        channels_in: usize,
        channels_out: usize,
        kernel_size: usize,
        exclude_current: bool,
        device: &Device,
    ) -> CausalConv1d {
        CausalConv1d {
            window: LinearConfig::new(kernel_size * channels_in, channels_out).init(device),
            kernel_size,
            exclude_current,
        }
    }

    /// Position-major: position is the first axis, so every window offset is one contiguous
    /// block of memory and cutting the windows out is a plain copy.
    ///
    /// # Shapes
    /// - x: [length, batch, C_in]
    /// - returns: [length, batch, C_out]
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [length, batch, channels_in] = x.dims();
        let k = self.kernel_size;
        // Type B pads k - 1 zeros so window i ends at i; type A pads k so it ends at i - 1.
        let pad = if self.exclude_current { k } else { k - 1 };
        // Window i is padded positions i..i+k: the padded sequence sliced at each offset j and
        // the k slices concatenated, cut out in one copy.
        // [length, batch, C_in] -> [length, batch, k * C_in] -> [length * batch, k * C_in]
        let windows = causal_windows(x, k, pad).reshape([length * batch, k * channels_in]);
        let y = linear_layer(&self.window, windows);
        let [_, channels_out] = y.dims();
        // [length * batch, C_out] -> [length, batch, C_out]
        y.reshape([length, batch, channels_out])
    }
}
// ANCHOR_END: causal_conv
