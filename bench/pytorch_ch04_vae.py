"""PyTorch twin of chapter 4's VAE: Tomczak's `vaes/vae_example` notebook.

Times what `ch04_vae vae bench` times (`dgm_core::experiment::bench_digit_model` with
`VaeCommand::Vae` of `crates/ch04_vae/src/experiment.rs`, the network of `vae.rs`): one pass of
`VaeConfig::full()` over the 1000 training digits.

    python bench/pytorch_ch04_vae.py --model vae --threads 1 --passes 3

- Network: encoder MLP 64 -> 256 -> 256 -> 32 (LeakyReLU) on the raw pixels 0..16, split into
  the mean and log-variance of q(z | x) (L = 16); decoder MLP 16 -> 256 -> 256 -> 1088
  (LeakyReLU), the logits of a 17-way categorical per pixel; prior N(0, I). 440,416 parameters.
- Loss: the batch mean of -ELBO with one reparameterised z ~ q(z | x) per image,
  ELBO = log p(x | z) - [log q(z | x) - log p(z)] (the one-sample estimate of the KL, as in the
  book), probabilities clamped to [1e-5, 1 - 1e-5].
- Optimiser: Adamax, lr 1e-3, PyTorch's defaults; batches of 64: 15 of 64 and a last one of 40,
  16 steps per pass.
"""

import torch
import torch.nn as nn

from twin import (
    arguments,
    digits,
    log_categorical,
    log_normal_diag,
    log_standard_normal,
    mlp,
    reparameterise,
    time_passes,
    train_pass,
)

D, LEVELS = 64, 17
HIDDEN, LATENT = 256, 16
BATCH_SIZE = 64


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = mlp([D, HIDDEN, HIDDEN, 2 * LATENT], nn.LeakyReLU)
        self.decoder = mlp([LATENT, HIDDEN, HIDDEN, D * LEVELS], nn.LeakyReLU)

    def elbo(self, x):
        """One-sample ELBO per image: x [batch, D]; returns [batch]."""
        mu, log_var = torch.chunk(self.encoder(x), 2, dim=1)
        z = reparameterise(mu, log_var)
        # log p(x | z): [batch, D K] -> [batch, D, K] logits
        logits = self.decoder(z).view(-1, D, LEVELS)
        reconstruction = log_categorical(x, logits)
        # KL estimate: log q(z | x) - log p(z)
        kl = log_normal_diag(z, mu, log_var) - log_standard_normal(z)
        return reconstruction - kl


def loss(vae, x):
    return -vae.elbo(x).mean()


def main():
    args = arguments(["vae"])
    vae = Vae()
    optimiser = torch.optim.Adamax(vae.parameters(), lr=1e-3)
    time_passes(args, train_pass(vae, optimiser, digits(), BATCH_SIZE, loss))


if __name__ == "__main__":
    main()
