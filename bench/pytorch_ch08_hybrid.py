"""PyTorch twin of the training pass of `ch08_hybrid hybrid`: an integer flow with a classifier
on its latent code, Tomczak's notebook `hybrid_modeling/hybrid_example`.

    python bench/pytorch_ch08_hybrid.py --model hybrid --threads 1 --passes 3

It times what the Rust `bench` verb times (`dgm_core::experiment::bench_digit_model`): one
`Trainer::epoch` over the 1000 labelled training digits with the loss of
`ch08_hybrid::hybrid::train_loss`, as the full preset of `ch08_hybrid::config` sets it up:

- the flow: 2 gated couplings y_b = x_b + round(beta t(x_a)), t: 32 -> 256 -> 256 -> 32 with
  LeakyReLU, beta a scalar started at 0, rounding with a straight-through gradient, the 64
  dimensions reversed after each coupling;
- its prior: a factorised discretised logistic with a learned mean and log-scale [1, 64];
- the classifier on z: 64 -> 256 -> 256 -> 10 with LeakyReLU (250,060 parameters in all);
- the loss: the batch mean of -log p(y | x) - alpha log p(x), alpha = 1/64, on the raw pixels
  0..16;
- batches of 64, the last one of 40 images kept (16 batches per pass); Adamax at 1e-3 with
  PyTorch's default betas and eps, as `dgm_core::optim` has them.

Where it differs from the notebook, it follows the Rust code:

- the gate is inside the rounding, y_b = x_b + round(beta t(x_a)), so z stays an integer vector
  (the notebook's beta round(t(x_a)) is not an integer once beta moves away from 0);
- the classifier outputs logits and the cross-entropy takes their log-softmax (the notebook ends
  the classifier with a Softmax and gives the log of its output to NLLLoss).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from twin import (
    arguments,
    digits,
    log_discretized_logistic,
    mlp,
    round_straight_through,
    time_passes,
    train_pass,
)

# Every setting of the full preset: D, classes, couplings, hidden width, alpha, batch size.
DIM, CLASSES, FLOWS, HIDDEN, ALPHA, BATCH = 64, 10, 2, 256, 1 / 64, 64


class GatedCoupling(nn.Module):
    """y_a = x_a, y_b = x_b + round(beta t(x_a)), with beta started at 0."""

    def __init__(self):
        super().__init__()
        half = DIM // 2
        self.translation = mlp([half, HIDDEN, HIDDEN, half])
        self.beta = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        x_a, x_b = x.chunk(2, dim=1)
        y_b = x_b + round_straight_through(self.translation(x_a) * self.beta)
        return torch.cat([x_a, y_b], dim=1)


class Hybrid(nn.Module):
    def __init__(self):
        super().__init__()
        self.couplings = nn.ModuleList(GatedCoupling() for _ in range(FLOWS))
        self.mean = nn.Parameter(torch.zeros(1, DIM))
        self.log_scale = nn.Parameter(torch.ones(1, DIM))
        self.classifier = mlp([DIM, HIDDEN, HIDDEN, CLASSES])

    def forward(self, x):
        """log p(x) = log P_Z(f(x)) and the classifier's logits on z = f(x)."""
        z = x
        for coupling in self.couplings:
            z = coupling(z).flip(1)
        return log_discretized_logistic(z, self.mean, self.log_scale), self.classifier(z)


def main():
    args = arguments(["hybrid"])
    net = Hybrid()
    print(f"{sum(p.numel() for p in net.parameters())} parameters", flush=True)
    optimiser = torch.optim.Adamax(net.parameters(), lr=1e-3)
    images, labels = digits(), torch.randint(0, CLASSES, (1000,))

    def loss(net, rows):
        x, y = images[rows], labels[rows]
        log_p, logits = net(x)
        # -log p(y | x) - alpha log p(x), the batch mean
        return (F.cross_entropy(logits, y, reduction="none") - ALPHA * log_p).mean()

    # The batches are of row numbers, so that the images and their labels are drawn together.
    time_passes(args, train_pass(net, optimiser, torch.arange(1000), BATCH, loss))


if __name__ == "__main__":
    main()
