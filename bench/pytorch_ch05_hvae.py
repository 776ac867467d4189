"""PyTorch twin of chapter 5's hierarchical VAE: Tomczak's `vaes/vae_hierarchical_example`
notebook.

Times what `ch05_hvae hvae bench` times (`dgm_core::experiment::bench_digit_model` with
`HvaeCommand` of `crates/ch05_hvae/src/experiment.rs`, the network of `hvae.rs`): one pass of
`HvaeConfig::full()` over the 1000 training digits.

    python bench/pytorch_ch05_hvae.py --model hvae --threads 1 --passes 3

- Latents: z_2 of L = 8 (top), z_1 of 2L = 16. Every network is Linear layers with, after each
  but the last, the sigmoid GELU x sigmoid(1.702 x) and a BatchNorm (training mode: batch
  statistics), and an output nonlinearity after the last (M = 256):
  r1 = 64 -> 256 -> 256, exact GELU; r2 = 256 -> 256 -> 256, LeakyReLU;
  delta1 = 256 -> 256 -> 32; delta2 = 256 -> 256 -> 16; z1-net = 8 -> 256 -> 32;
  x-net = 16 -> 256 -> 256 -> 1088, the logits of a 17-way categorical per pixel.
  721,808 trained parameters (and the BatchNorms' running statistics).
- Inference: r_1 = r1(x) on the raw pixels 0..16, r_2 = r2(r_1); (delta mu_1, delta log var_1)
  = delta1(r_1), (mu_2, log var_2) = delta2(r_2), both log-variances clamped to [-7, 2];
  z_2 = mu_2 + exp(log var_2 / 2) eps; (mu_1, log var_1) = z1-net(z_2);
  z_1 = (mu_1 + delta mu_1) + exp((log var_1 + delta log var_1) / 2) eps.
- Loss: the batch mean of -ELBO, ELBO = log p(x | z_1) - KL_2 - KL_1, both KLs between diagonal
  Gaussians in closed form (KL_2 against N(0, I), KL_1 against p(z_1 | z_2)), probabilities
  clamped to [1e-5, 1 - 1e-5].
- Optimiser: Adamax, lr 1e-3, PyTorch's defaults; batches of 64: 15 of 64 and a last one of 40,
  16 steps per pass.

Where the twin follows the Rust code rather than the notebook: probabilities are clamped at
1e-5 (the notebook's helper uses 1e-7; the same ops either way), and KL_1 is the general
closed-form KL of `dgm_core::distributions::kl_normal_diag` with p = N(mu_1, var_1), which the
book writes already simplified.
"""

import torch
import torch.nn as nn

from twin import arguments, digits, log_categorical, reparameterise, time_passes, train_pass

D, LEVELS = 64, 17
M, L = 256, 8
BATCH_SIZE = 64
LOG_VAR_OFFSET = (-7.0, 2.0)


class SigmoidGelu(nn.Module):
    """x sigmoid(1.702 x), the sigmoid approximation of GELU."""

    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


def net(widths, output=None):
    """Linear layers of `widths`; after every one but the last, the sigmoid GELU and a
    BatchNorm; after the last, `output` (a module, or None)."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers += [SigmoidGelu(), nn.BatchNorm1d(n_out)]
    if output is not None:
        layers.append(output)
    return nn.Sequential(*layers)


def kl_normal_diag(mu_q, log_var_q, mu_p, log_var_p):
    """KL(N(mu_q, diag var_q) || N(mu_p, diag var_p)) summed over dimensions; returns [batch]."""
    # 1/2 sum_d [log var_p - log var_q + (var_q + (mu_q - mu_p)^2) / var_p - 1]
    var_ratio = torch.exp(log_var_q - log_var_p)
    mean_term = (mu_q - mu_p).pow(2) * torch.exp(-log_var_p)
    return 0.5 * (log_var_p - log_var_q + var_ratio + mean_term - 1.0).sum(dim=1)


class Hvae(nn.Module):
    def __init__(self):
        super().__init__()
        self.r1 = net([D, M, M], nn.GELU())
        self.r2 = net([M, M, M], nn.LeakyReLU())
        self.delta1 = net([M, M, 4 * L])
        self.delta2 = net([M, M, 2 * L])
        self.z1_net = net([L, M, 4 * L])
        self.x_net = net([2 * L, M, M, D * LEVELS])

    def elbo(self, x):
        """ELBO per image with one sample of (z_1, z_2): x [batch, D]; returns [batch]."""
        r1 = self.r1(x)
        r2 = self.r2(r1)
        delta_mu1, delta_log_var1 = torch.chunk(self.delta1(r1), 2, dim=1)
        mu2, log_var2 = torch.chunk(self.delta2(r2), 2, dim=1)
        delta_log_var1 = delta_log_var1.clamp(*LOG_VAR_OFFSET)
        log_var2 = log_var2.clamp(*LOG_VAR_OFFSET)
        # z_2 ~ q(z_2 | x)
        z2 = reparameterise(mu2, log_var2)
        # p(z_1 | z_2) = N(mu_1, exp(log var_1))
        prior_mu1, prior_log_var1 = torch.chunk(self.z1_net(z2), 2, dim=1)
        # z_1 ~ q(z_1 | z_2, x) = N(mu_1 + delta mu_1, exp(log var_1 + delta log var_1))
        mu1 = prior_mu1 + delta_mu1
        log_var1 = prior_log_var1 + delta_log_var1
        z1 = reparameterise(mu1, log_var1)
        # log p(x | z_1): [batch, D K] -> [batch, D, K] logits
        reconstruction = log_categorical(x, self.x_net(z1).view(-1, D, LEVELS))
        zeros = torch.zeros_like(mu2)
        kl2 = kl_normal_diag(mu2, log_var2, zeros, zeros)
        kl1 = kl_normal_diag(mu1, log_var1, prior_mu1, prior_log_var1)
        return reconstruction - kl2 - kl1


def loss(hvae, x):
    return -hvae.elbo(x).mean()


def main():
    args = arguments(["hvae"])
    hvae = Hvae()
    optimiser = torch.optim.Adamax(hvae.parameters(), lr=1e-3)
    time_passes(args, train_pass(hvae, optimiser, digits(), BATCH_SIZE, loss))


if __name__ == "__main__":
    main()
