"""PyTorch twin of the training pass of `ch09_ebm ebm`: a classifier read as an energy-based
model (JEM), Tomczak's notebook `ebms/ebm_example`.

    python bench/pytorch_ch09_ebm.py --model ebm --threads 1 --passes 3

It times what the Rust `bench` verb times (`dgm_core::experiment::bench_digit_model`): one
`Trainer::epoch` over the 1000 labelled training digits with the loss of
`ch09_ebm::ebm::train_loss`, as the full preset of `ch09_ebm::config` sets it up:

- the network f: 64 -> 512 -> 512 -> 512 -> 10 with ELU (563,722 parameters), whose logits give
  p(y | x) = softmax(f(x)) and -E(x) = logsumexp_y f(x)[y];
- the images on the [-1, 1] scale, x / 17 * 2 - 1, plus fresh Gaussian noise of std 0.03;
- per batch, one Langevin chain of as many samples as images, from U[-1, 1]^64, 20 steps
  x <- x + alpha grad_x(-E(x)) + sigma eps with alpha = 1 and sigma = 0.01 (each a forward and
  a backward through f for the gradient in x alone; the parameters are constants there);
- the loss: the batch mean of the cross-entropy plus -E(x_sample) + E(x);
- batches of 64, the last one of 40 images kept (16 batches per pass); Adamax at 1e-3 with
  PyTorch's default betas and eps, as `dgm_core::optim` has them.

Where it differs from the notebook, it follows the Rust code: the cross-entropy is taken from
the logits by log-softmax (the notebook takes the log of their softmax and gives it to NLLLoss).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from twin import arguments, digits, time_passes, train_pass

# Every setting of the full preset.
DIM, HIDDEN, CLASSES, BATCH = 64, 512, 10, 64
NOISE_STD, LANGEVIN_STEPS, STEP, NOISE = 0.03, 20, 1.0, 0.01


def neg_energy(f, x):
    """-E(x) = log sum_y exp f(x)[y]."""
    return torch.logsumexp(f(x), dim=1)


def langevin_sample(f, n):
    """x_0 ~ U[-1, 1]^D, then x <- x + alpha grad_x(-E(x)) + sigma eps; the last state."""
    x = torch.rand(n, DIM) * 2 - 1
    for _ in range(LANGEVIN_STEPS):
        x.requires_grad_(True)
        (gradient,) = torch.autograd.grad(neg_energy(f, x).sum(), [x])
        x = x.detach() + gradient * STEP + torch.randn_like(x) * NOISE
    return x


def main():
    args = arguments(["ebm"])
    f = nn.Sequential(
        nn.Linear(DIM, HIDDEN),
        nn.ELU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ELU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ELU(),
        nn.Linear(HIDDEN, CLASSES),
    )
    print(f"{sum(p.numel() for p in f.parameters())} parameters", flush=True)
    optimiser = torch.optim.Adamax(f.parameters(), lr=1e-3)
    images, labels = digits(), torch.randint(0, CLASSES, (1000,))

    def loss(f, rows):
        x, y = images[rows], labels[rows]
        # the [-1, 1] scale, x / 17 * 2 - 1, plus N(0, 0.03^2) noise
        x = x / 17 * 2 - 1 + torch.randn_like(x) * NOISE_STD
        samples = langevin_sample(f, x.shape[0])
        logits = f(x)
        classification = F.cross_entropy(logits, y, reduction="none")
        # -E(x_sample) - (-E(x))
        generative = neg_energy(f, samples) - torch.logsumexp(logits, dim=1)
        return (classification + generative).mean()

    # The batches are of row numbers, so that the images and their labels are drawn together.
    time_passes(args, train_pass(f, optimiser, torch.arange(1000), BATCH, loss))


if __name__ == "__main__":
    main()
