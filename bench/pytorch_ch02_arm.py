"""PyTorch twin of chapter 2's causal-convolution ARM: Tomczak's `arms/arm_example` notebook.

Times what `ch02_arm causal-conv bench` times (`dgm_core::experiment::bench_digit_model` with
`CausalConv` of `crates/ch02_arm/src/experiment/causal_conv.rs`, the network of `arm.rs`): one
pass of `ArmConfig::full()` over the 1000 training digits. (The chapter's transformer has its
twin in `pytorch_transformers.py`.)

    python bench/pytorch_ch02_arm.py --model causal-conv --threads 1 --passes 3

- Network: the image as a sequence of D = 64 raw pixel values 0..16 (one input channel, no
  scaling), four causal 1-D convolutions of kernel 7, channels 1 -> 256 -> 256 -> 256 -> 17,
  LeakyReLU (slope 0.01) between them; the first is type A (position d sees x_<d), the others
  type B (position d sees its own input too). 950,545 parameters.
- Loss: the batch mean of -log p(x) = -sum_d log p(x_d | x_<d), each a 17-way categorical of
  the logits at d, probabilities clamped to [1e-5, 1 - 1e-5].
- Optimiser: Adamax, lr 1e-3, PyTorch's defaults; batches of 64: 15 of 64 and a last one of 40,
  16 steps per pass.

The Rust `CausalConv1d` computes a convolution as one `Linear` over the k windows it cuts out
of the left-padded sequence (weights [k C_in, C_out]); the twin uses `nn.Conv1d` on the same
left-padded sequence, as the notebook does: the same function with the same parameters, each
framework's own convolution.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from twin import arguments, digits, log_categorical, time_passes, train_pass

D, LEVELS = 64, 17
CHANNELS, KERNEL = 256, 7
BATCH_SIZE = 64


class CausalConv1d(nn.Module):
    """A 1-D convolution whose output at d sees the inputs before d (type A) or up to and
    including d (type B)."""

    def __init__(self, channels_in, channels_out, kernel_size, exclude_current):
        super().__init__()
        self.conv = nn.Conv1d(channels_in, channels_out, kernel_size)
        self.kernel_size = kernel_size
        self.exclude_current = exclude_current

    def forward(self, x):
        """x [batch, C_in, length]; returns [batch, C_out, length]."""
        length = x.shape[2]
        k = self.kernel_size
        # type B pads k - 1 zeros so window d ends at d; type A pads k so it ends at d - 1
        pad = k if self.exclude_current else k - 1
        y = self.conv(F.pad(x, (pad, 0)))
        # type A has one output too many (the window ending at the last position): drop it
        return y[:, :, :length]


class CausalConvArm(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(
            [
                CausalConv1d(1, CHANNELS, KERNEL, exclude_current=True),
                CausalConv1d(CHANNELS, CHANNELS, KERNEL, exclude_current=False),
                CausalConv1d(CHANNELS, CHANNELS, KERNEL, exclude_current=False),
                CausalConv1d(CHANNELS, LEVELS, KERNEL, exclude_current=False),
            ]
        )

    def logits(self, x):
        """The logits of p(x_d | x_<d) for every d: x [batch, D]; returns [batch, D, K]."""
        # [batch, D] -> [batch, 1, D]: one input channel
        h = x.unsqueeze(1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = F.leaky_relu(h, 0.01)
        # [batch, K, D] -> [batch, D, K]
        return h.permute(0, 2, 1)


def loss(arm, x):
    # -log p(x) = -sum_d log Cat(x_d | softmax(logits_d))
    return -log_categorical(x, arm.logits(x)).mean()


def main():
    args = arguments(["causal-conv"])
    arm = CausalConvArm()
    optimiser = torch.optim.Adamax(arm.parameters(), lr=1e-3)
    time_passes(args, train_pass(arm, optimiser, digits(), BATCH_SIZE, loss))


if __name__ == "__main__":
    main()
