"""PyTorch twin of chapter 1's mixture of Gaussians: Tomczak's `mog/mog_example` notebook.

Times what `ch01_mog mog bench` times (`dgm_core::experiment::bench_digit_model` with
`MogCommand` of `crates/ch01_mog/src/experiment.rs`): one pass of `MogConfig::full()` over the
1000 training digits.

    python bench/pytorch_ch01_mog.py --model mog --threads 1 --passes 3

- Model: K = 25 diagonal Gaussians in D = 64, means [K, D] and log-variances [K, D] learned
  (3,200 parameters), mixing weights fixed at pi_k = 1/K (not learned, as in the book).
- Data: x / 17 plus fresh Gaussian noise of standard deviation 1/136 on every batch.
- Loss: the batch mean of -log p(x), log p(x) = logsumexp_k [log pi_k + log N(x; mu_k, var_k)].
- Optimiser: AdamW, lr 1e-3, weight decay 0.01, eps 1e-8; batches of 32: 31 of 32 and a last
  one of 8, 32 steps per pass.

Where the twin follows the Rust code rather than the notebook: the squared distances
sum_d (x_d - mu_kd)^2 / var_kd are expanded into two matrix products, as `Mog::log_prob` does
(the notebook broadcasts a [batch, K, D] tensor), and the data are float32 (the notebook's
noisy images are float64).
"""

import math

import torch
import torch.nn as nn

from twin import arguments, digits, time_passes, train_pass

K, D = 25, 64
LEVELS = 17
NOISE_STD = 1.0 / 136.0
BATCH_SIZE = 32


class Mog(nn.Module):
    """p(x) = sum_k pi_k N(x; mu_k, diag(sigma_k^2)) with pi_k = 1/K."""

    def __init__(self):
        super().__init__()
        # mu ~ N(0.5, 0.25^2), log sigma^2 = -3
        self.means = nn.Parameter(0.5 + 0.25 * torch.randn(K, D))
        self.log_vars = nn.Parameter(torch.full((K, D), -3.0))

    def log_prob(self, x):
        """log p(x) for x [batch, D]; returns [batch]."""
        precision = torch.exp(-self.log_vars)
        # sum_d (x_d - mu_kd)^2 / sigma_kd^2
        #   = sum_d x_d^2 / sigma_kd^2 - 2 sum_d x_d mu_kd / sigma_kd^2 + sum_d mu_kd^2 / sigma_kd^2
        squares = (
            x.pow(2) @ precision.T
            - 2.0 * (x @ (self.means * precision).T)
            + (self.means.pow(2) * precision).sum(dim=1)
        )
        # sum_d log N(x_d; mu_kd, sigma_kd^2) = -1/2 [D ln(2 pi) + sum_d log sigma_kd^2 + squares]
        log_components = -0.5 * (squares + self.log_vars.sum(dim=1) + D * math.log(2.0 * math.pi))
        # log pi_k = -log K
        log_weights = torch.full((K,), -math.log(K))
        return torch.logsumexp(log_components + log_weights, dim=1)


def loss(mog, x):
    # the book's scale x / 17 plus noise of standard deviation 1/136
    noisy = x / LEVELS + NOISE_STD * torch.randn_like(x)
    return -mog.log_prob(noisy).mean()


def main():
    args = arguments(["mog"])
    mog = Mog()
    optimiser = torch.optim.AdamW(mog.parameters(), lr=1e-3, weight_decay=0.01, eps=1e-8)
    time_passes(args, train_pass(mog, optimiser, digits(), BATCH_SIZE, loss))


if __name__ == "__main__":
    main()
