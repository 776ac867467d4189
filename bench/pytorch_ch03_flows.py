"""PyTorch twins of chapter 3's flows on the digits: Tomczak's `flows/realnvp_example` and
`flows/idf_example` notebooks.

Times what `ch03_flows realnvp bench` and `ch03_flows idf bench` time
(`dgm_core::experiment::bench_digit_model` with `RealNvpCommand` and `IdfCommand` of
`crates/ch03_flows/src/experiment/`, the networks of `realnvp.rs` and `idf.rs`): one pass of
`RealNvpConfig::full()` or `IdfConfig::full()` over the 1000 training digits.

    python bench/pytorch_ch03_flows.py --model realnvp --threads 1 --passes 3
    python bench/pytorch_ch03_flows.py --model idf --threads 1 --passes 3

realnvp:
- Data: the raw pixels 0..16 dequantised, v = x + (1 - u) / 2 with fresh u ~ U[0, 1) on every
  batch.
- Network: 8 affine couplings on D = 64, each followed by reversing the order of the
  dimensions. A coupling keeps x_a (the first 32) and maps x_b (the last 32) to
  (x_b - t(x_a)) exp(-s(x_a)); s and t are MLPs 32 -> 256 -> 256 -> 32 with LeakyReLU, s ending
  in a tanh. 1,319,424 parameters.
- Loss: the batch mean of -[log N(z; 0, I) + log |det|], log |det| = -sum of every s.

idf:
- Data: the raw integer pixels 0..16, no scaling, no noise.
- Network: 8 integer couplings, each followed by reversing the order of the dimensions. A
  coupling splits x into 4 blocks of 16 and moves each in turn by the rounded output of an MLP
  48 -> 256 -> 256 -> 16 (LeakyReLU) of the other three as they are at that moment; rounding has
  the straight-through gradient. Prior: a factorised discretised logistic with a learned mean
  (starts at 0) and log-scale (starts at 1), each [1, 64]. 2,638,464 parameters.
- Loss: the batch mean of -log P(z), z = f(x) (an integer bijection: no Jacobian).

Both: Adamax, lr 1e-3, PyTorch's defaults; batches of 64: 15 of 64 and a last one of 40, 16
steps per pass.
"""

import torch
import torch.nn as nn

from twin import (
    arguments,
    digits,
    log_discretized_logistic,
    log_standard_normal,
    mlp,
    round_straight_through,
    time_passes,
    train_pass,
)

D = 64
HIDDEN = 256
BATCH_SIZE = 64


class AffineCoupling(nn.Module):
    """y_a = x_a, y_b = (x_b - t(x_a)) exp(-s(x_a)), log |det| = -sum_j s_j(x_a)."""

    def __init__(self):
        super().__init__()
        self.split = D // 2
        widths = [self.split, HIDDEN, HIDDEN, D - self.split]
        self.scale = mlp(widths, nn.LeakyReLU, nn.Tanh)
        self.translation = mlp(widths, nn.LeakyReLU)

    def forward(self, x):
        x_a, x_b = x[:, : self.split], x[:, self.split :]
        s = self.scale(x_a)
        t = self.translation(x_a)
        # y_b = (x_b - t) * exp(-s)
        y_b = (x_b - t) * torch.exp(-s)
        # log |det| = -sum_j s_j
        return torch.cat([x_a, y_b], dim=1), -s.sum(dim=1)


class RealNvp(nn.Module):
    def __init__(self, couplings=8):
        super().__init__()
        self.couplings = nn.ModuleList(AffineCoupling() for _ in range(couplings))

    def log_prob(self, x):
        """log p(x) = log N(f(x); 0, I) + log |det df/dx|: x [batch, D]; returns [batch]."""
        z = x
        log_det = torch.zeros(x.shape[0])
        for coupling in self.couplings:
            y, layer_log_det = coupling(z)
            # reverse the order of the dimensions (|det| = 1)
            z = torch.flip(y, [1])
            log_det = log_det + layer_log_det
        return log_standard_normal(z) + log_det


def realnvp_loss(realnvp, x):
    # dequantisation: v = x + (1 - u) / 2, u ~ U[0, 1)
    v = x + 0.5 * (1.0 - torch.rand_like(x))
    return -realnvp.log_prob(v).mean()


class IntegerCoupling(nn.Module):
    """y_i = x_i + round(t_i(the other blocks as they are now)), for i = 1..B in turn."""

    def __init__(self, blocks=4):
        super().__init__()
        self.blocks = blocks
        block = D // blocks
        self.translations = nn.ModuleList(
            mlp([D - block, HIDDEN, HIDDEN, block], nn.LeakyReLU) for _ in range(blocks)
        )

    def forward(self, x):
        parts = list(torch.chunk(x, self.blocks, dim=1))
        for i, t in enumerate(self.translations):
            others = torch.cat([parts[j] for j in range(self.blocks) if j != i], dim=1)
            parts[i] = parts[i] + round_straight_through(t(others))
        return torch.cat(parts, dim=1)


class Idf(nn.Module):
    def __init__(self, flows=8):
        super().__init__()
        self.couplings = nn.ModuleList(IntegerCoupling() for _ in range(flows))
        self.mean = nn.Parameter(torch.zeros(1, D))
        self.log_scale = nn.Parameter(torch.ones(1, D))

    def log_prob(self, x):
        """log P(x) = log P_Z(f(x)): x [batch, D] integers as floats; returns [batch]."""
        z = x
        for coupling in self.couplings:
            # reverse the order of the dimensions after every coupling
            z = torch.flip(coupling(z), [1])
        return log_discretized_logistic(z, self.mean, self.log_scale)


def idf_loss(idf, x):
    return -idf.log_prob(x).mean()


def main():
    args = arguments(["realnvp", "idf"])
    net, loss = (RealNvp(), realnvp_loss) if args.model == "realnvp" else (Idf(), idf_loss)
    optimiser = torch.optim.Adamax(net.parameters(), lr=1e-3)
    time_passes(args, train_pass(net, optimiser, digits(), BATCH_SIZE, loss))


if __name__ == "__main__":
    main()
