//! The causal 1-D convolution, the building block of the ARM.

use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::prelude::*;

// ANCHOR: causal_conv
/// A 1-D convolution whose output at position d sees only the inputs before d (type A) or up to
/// and including d (type B).
///
/// A kernel of size k at output position i covers the padded inputs i..i+k. Padding the left by
/// k - 1 makes the last of them input i itself (type B). Padding by k instead shifts the window
/// one step further into the past, to inputs i-k..i-1; the extra output at the end, which would
/// see the last input, is dropped (type A).
#[derive(Module, Debug)]
pub struct CausalConv1d {
    conv: Conv1d,
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
        let left = if exclude_current {
            kernel_size
        } else {
            kernel_size - 1
        };
        let conv = Conv1dConfig::new(channels_in, channels_out, kernel_size)
            .with_padding(PaddingConfig1d::Explicit(left, 0))
            .init(device);
        CausalConv1d {
            conv,
            exclude_current,
        }
    }

    /// # Shapes
    /// - x: [batch, channels_in, length]
    /// - returns: [batch, channels_out, length]
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, _, length] = x.dims();
        let y = self.conv.forward(x);
        if self.exclude_current {
            // [batch, channels_out, length + 1] -> [batch, channels_out, length]
            let [_, channels_out, _] = y.dims();
            y.slice([0..batch, 0..channels_out, 0..length])
        } else {
            y
        }
    }
}
// ANCHOR_END: causal_conv
