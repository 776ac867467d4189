"""PyTorch twin of chapter 6's diffusion model: Tomczak's `ddgms/ddgm_example` notebook.

Times what `ch06_diffusion ddgm bench` times (`dgm_core::experiment::bench_digit_model` with
`Diffusion` of `crates/ch06_diffusion/src/experiment.rs`, the network of `ddgm.rs`): one pass
of `DdgmConfig::full()` over the 1000 training digits.

    python bench/pytorch_ch06_diffusion.py --model ddgm --threads 1 --passes 3

- Data: x / 17 * 2 - 1, the [-1, 1] scale; no noise.
- Forward process: T = 5 steps of z_t = sqrt(1 - beta) z_{t-1} + sqrt(beta) eps, beta = 0.9,
  z_0 = x (one fresh chain per image and batch).
- Network: T - 1 = 4 reverse MLPs 64 -> 256 -> 256 -> 256 -> 128 (LeakyReLU), the mean and
  log-variance of p(z_{t-1} | z_t); decoder MLP 64 -> 512 -> 512 -> 512 -> 64 (LeakyReLU, final
  tanh), the mean of p(x | z_1) = N(mu_x, I). 1,315,904 parameters, all trained.
- Loss: the batch mean of -ELBO,
  ELBO = log p(x | z_1) - sum_{t=1}^{T-1} [log q(z_t | z_{t-1}) - log p(z_t | z_{t+1})]
       - [log q(z_T | z_{T-1}) - log N(z_T; 0, I)].
- Optimiser: Adamax, lr 1e-3, PyTorch's defaults; batches of 64: 15 of 64 and a last one of 40,
  16 steps per pass.

Where the twin follows the Rust code rather than the notebook (reference section 0): the four
reverse networks are registered parameters and trained (the notebook keeps them in a plain
list, so only its decoder learns), and each term log q(z_t | z_{t-1}) - log p(z_t | z_{t+1})
conditions on the right states and pairs z_t with the reverse step out of z_{t+1} (the notebook
evaluates q(z_t | z_t) and pairs the list of reverse outputs in the wrong order).
"""

import math

import torch
import torch.nn as nn

from twin import (
    arguments,
    digits,
    log_normal_diag,
    log_standard_normal,
    mlp,
    time_passes,
    train_pass,
)

D, LEVELS = 64, 17
STEPS, BETA = 5, 0.9
M = 256
BATCH_SIZE = 64


def diffuse(z):
    """One forward step: z_t = sqrt(1 - beta) z_{t-1} + sqrt(beta) eps."""
    return math.sqrt(1.0 - BETA) * z + math.sqrt(BETA) * torch.randn_like(z)


def log_forward(z, previous):
    """log q(z_t | z_{t-1}) = log N(z_t; sqrt(1 - beta) z_{t-1}, beta I), summed over dims."""
    mean = math.sqrt(1.0 - BETA) * previous
    log_var = torch.full_like(mean, math.log(BETA))
    return log_normal_diag(z, mean, log_var)


class Ddgm(nn.Module):
    def __init__(self):
        super().__init__()
        # reverse[t - 2] gives p(z_{t-1} | z_t), t = 2..T
        self.reverse = nn.ModuleList(
            mlp([D, M, M, M, 2 * D], nn.LeakyReLU) for _ in range(STEPS - 1)
        )
        self.decoder = mlp([D, 2 * M, 2 * M, 2 * M, D], nn.LeakyReLU, nn.Tanh)

    def elbo(self, x):
        """The ELBO with one forward chain: x [batch, D] on the [-1, 1] scale; returns [batch]."""
        # zs[t] = z_t for t = 0..T, z_0 = x
        zs = [x]
        for _ in range(STEPS):
            zs.append(diffuse(zs[-1]))
        # log p(x | z_1) = log N(x; tanh(decoder(z_1)), I)
        mean_x = self.decoder(zs[1])
        reconstruction = log_normal_diag(x, mean_x, torch.zeros_like(mean_x))
        # the last bracket: z_T against the prior N(0, I)
        kl = log_forward(zs[STEPS], zs[STEPS - 1]) - log_standard_normal(zs[STEPS])
        for t in range(1, STEPS):
            # p(z_t | z_{t+1}) from reverse[t - 1]
            mu, log_var = torch.chunk(self.reverse[t - 1](zs[t + 1]), 2, dim=1)
            kl = kl + log_forward(zs[t], zs[t - 1]) - log_normal_diag(zs[t], mu, log_var)
        return reconstruction - kl


def loss(ddgm, x):
    # the [-1, 1] scale: x / 17 * 2 - 1
    return -ddgm.elbo(x / LEVELS * 2.0 - 1.0).mean()


def main():
    args = arguments(["ddgm"])
    ddgm = Ddgm()
    optimiser = torch.optim.Adamax(ddgm.parameters(), lr=1e-3)
    time_passes(args, train_pass(ddgm, optimiser, digits(), BATCH_SIZE, loss))


if __name__ == "__main__":
    main()
