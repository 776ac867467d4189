"""PyTorch twin of the training pass of `ch11_compression arm`: learned lossy compression with an
autoregressive entropy model, Tomczak's notebook `neural_compression/neural_compression_example`.

    python bench/pytorch_ch11_compression.py --model arm --threads 1 --passes 3

It times what the Rust `bench` verb times (`dgm_core::experiment::bench_digit_model`): one
`Trainer::epoch` over the 1000 training digits with the loss of
`ch11_compression::compressor::objective` on `Compressor::pass`, as the full preset of
`ch11_compression::config` sets it up:

- the encoder 64 -> 512 -> 256 -> 128 -> 16 and the decoder 16 -> 128 -> 256 -> 512 -> 64, with
  BatchNorm (batch statistics: training mode) and ReLU after every layer but the last;
- the quantiser: a codebook of 8 learned scalars, started uniform in [-1/8, 1/8], each code
  value snapped to its nearest entry;
- the entropy model: causal convolutions over the 16 quantised values, kernel 4, channels
  1 -> 32 (type A) -> 32 (type B) -> 8 (type B), LeakyReLU between them, and the rate the
  cross-entropy of the assignment under its log-softmax, in nats per symbol (408,096 parameters
  in all);
- the loss: the batch mean of the distortion (the mean squared error per pixel on the raw 0..16
  scale) plus beta = 1 times the rate;
- batches of 64, the last one of 40 images kept (16 batches per pass); Adamax at 1e-3 with
  PyTorch's default betas and eps, as `dgm_core::optim` has them.

Where it differs from the notebook, it follows the Rust code:

- the quantiser's forward value is the nearest codebook entry, with the straight-through term
  z - detach(z) carrying the gradient to the encoder, and the assignment is one-hot forwards and
  softmax_k(-|z - c_k|) backwards (the notebook takes softmax(1e7 exp(-|z - c_k|)), a soft
  assignment that is one-hot in effect, as the quantised value and as the assignment);
- the rate takes the log-softmax of the entropy model's logits (the notebook, the log of their
  softmax).

The Rust causal convolution cuts the k windows out and puts them through one linear layer; this
twin uses PyTorch's Conv1d after padding on the left, as the notebook does: the same function
and the same parameters.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from twin import arguments, digits, time_passes, train_pass

# Every setting of the full preset.
DIM, CODE_LEN, CODEBOOK, HIDDEN = 64, 16, 8, [512, 256, 128]
CHANNELS, KERNEL, BETA, BATCH = 32, 4, 1.0, 64


def bn_mlp(widths):
    """Linear layers with BatchNorm and ReLU after every one but the last."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers += [nn.BatchNorm1d(n_out), nn.ReLU()]
    return nn.Sequential(*layers)


class CausalConv1d(nn.Module):
    """A 1-D convolution whose output at position i sees the inputs before i (type A) or up to
    and including i (type B)."""

    def __init__(self, channels_in, channels_out, exclude_current):
        super().__init__()
        self.conv = nn.Conv1d(channels_in, channels_out, KERNEL)
        self.exclude_current = exclude_current

    def forward(self, x):
        if self.exclude_current:
            # k zeros on the left and the last position dropped: window i ends at i - 1
            return self.conv(F.pad(x[:, :, :-1], (KERNEL, 0)))
        # k - 1 zeros on the left: window i ends at i
        return self.conv(F.pad(x, (KERNEL - 1, 0)))


class Compressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = bn_mlp([DIM, *HIDDEN, CODE_LEN])
        self.codebook = nn.Parameter(torch.empty(CODEBOOK).uniform_(-1 / 8, 1 / 8))
        self.decoder = bn_mlp([CODE_LEN, *reversed(HIDDEN), DIM])
        self.arm = nn.ModuleList(
            [
                CausalConv1d(1, CHANNELS, exclude_current=True),
                CausalConv1d(CHANNELS, CHANNELS, exclude_current=False),
                CausalConv1d(CHANNELS, CODEBOOK, exclude_current=False),
            ]
        )

    def quantise(self, z):
        """The code values snapped to their nearest entries, and the assignment to the entries:
        one-hot forwards, softmax_k(-|z - c_k|) backwards."""
        # argmin_k |z - c_k|, with [batch, C, 1] - [E] -> [batch, C, E]
        symbols = (z.unsqueeze(2) - self.codebook).abs().argmin(2)
        # c_k forwards, the identity's gradient to z backwards (z - z is 0)
        values = self.codebook[symbols] + (z - z.detach())
        # softmax_k(-|z - c_k|)
        soft = F.softmax(-(z.unsqueeze(2) - self.codebook).abs(), dim=2)
        hard = F.one_hot(symbols, CODEBOOK).float()
        # one-hot forwards, the soft assignment's gradient backwards
        return values, hard + (soft - soft.detach())

    def rate(self, values, assignment):
        """-sum_k a_k log q_k, the mean over the C positions: [batch]."""
        # [batch, C] -> [batch, 1, C]: one input channel
        h = values.unsqueeze(1)
        for i, layer in enumerate(self.arm):
            h = layer(h)
            if i < len(self.arm) - 1:
                h = F.leaky_relu(h)
        # [batch, E, C] -> [batch, C, E]
        log_q = F.log_softmax(h.transpose(1, 2), dim=2)
        return -(assignment * log_q).sum(2).mean(1)

    def forward(self, x):
        """The objective of a batch: the mean of distortion + beta rate."""
        values, assignment = self.quantise(self.encoder(x))
        reconstruction = self.decoder(values)
        # mean_d (x_d - x^_d)^2
        distortion = (x - reconstruction).pow(2).mean(1)
        return (distortion + BETA * self.rate(values, assignment)).mean()


def main():
    args = arguments(["arm"])
    net = Compressor()
    print(f"{sum(p.numel() for p in net.parameters())} parameters", flush=True)
    optimiser = torch.optim.Adamax(net.parameters(), lr=1e-3)
    time_passes(args, train_pass(net, optimiser, digits(), BATCH, lambda net, x: net(x)))


if __name__ == "__main__":
    main()
