"""PyTorch twin of the training pass of `ch10_gan gan`: the book's GAN with two small MLPs,
Tomczak's notebook `gans/gans_example`.

    python bench/pytorch_ch10_gan.py --model gan --threads 1 --passes 3

It times what the Rust `bench` verb of the GAN times (`GanCommand::bench`, through
`dgm_core::experiment::time_passes`): one `ch10_gan::gan::GanTrainer::epoch` over the 1000
training digits, as the full preset of `ch10_gan::config` sets it up:

- the generator G: z ~ N(0, I_16) -> 128 (ReLU) -> 64 (tanh); the discriminator D:
  64 -> 128 (ReLU) -> 1 (sigmoid), clamped to [1e-5, 1 - 1e-5] (18,881 parameters in all);
- the real images on the [-1, 1] scale, x / 17 * 2 - 1, plus fresh Gaussian noise of std 0.03;
- per batch, first a step of D on -(log D(x) + log(1 - D(G(z)))) with G(z) held fixed, then a
  step of G on log(1 - D(G(z'))) with a fresh z', each fake batch as large as the real one;
- batches of 64, the last one of 40 images kept (16 batches, 32 optimiser steps per pass); one
  Adam per player at 3e-4, PyTorch's default betas and eps (burn's Adam with eps set to 1e-8).

The generator's loss is backpropagated through D into both players, as in the notebook and the
Rust code (whose backward computes D's gradients too and drops them); only G's optimiser steps.
Where it differs from the notebook, it follows the Rust code: the fake batch of D's step is
detached, so D's loss does not reach G (the notebook backpropagates it into G as well and zeroes
G's gradients before G's step).
"""

import torch
import torch.nn as nn

from twin import arguments, batches, digits, time_passes

# Every setting of the full preset: D, the latent's dimension, the hidden width, the batch size.
DIM, LATENT, HIDDEN, BATCH = 64, 16, 128, 64
NOISE_STD, LEARNING_RATE, D_CLAMP = 0.03, 3e-4, 1e-5


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))

    def forward(self, x):
        """D(x), the probability that x is real, clamped to [1e-5, 1 - 1e-5]: [batch]."""
        return torch.sigmoid(self.net(x)).clamp(D_CLAMP, 1 - D_CLAMP).squeeze(1)


def main():
    args = arguments(["gan"])
    generator = nn.Sequential(
        nn.Linear(LATENT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, DIM), nn.Tanh()
    )
    discriminator = Discriminator()
    players = [generator, discriminator]
    print(f"{sum(p.numel() for net in players for p in net.parameters())} parameters", flush=True)
    g_optimiser = torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE)
    d_optimiser = torch.optim.Adam(discriminator.parameters(), lr=LEARNING_RATE)
    data = digits()

    def one_pass():
        for x in batches(data, BATCH):
            # the [-1, 1] scale, x / 17 * 2 - 1, plus N(0, 0.03^2) noise
            x = x / 17 * 2 - 1 + torch.randn_like(x) * NOISE_STD
            n = x.shape[0]

            fake = generator(torch.randn(n, LATENT)).detach()
            # -(log D(x) + log(1 - D(G(z)))), the batch mean
            d_loss = -(torch.log(discriminator(x)) + torch.log(1 - discriminator(fake))).mean()
            d_optimiser.zero_grad(set_to_none=True)
            d_loss.backward()
            d_optimiser.step()

            fake = generator(torch.randn(n, LATENT))
            # log(1 - D(G(z'))), the batch mean
            g_loss = torch.log(1 - discriminator(fake)).mean()
            g_optimiser.zero_grad(set_to_none=True)
            g_loss.backward()
            g_optimiser.step()

    time_passes(args, one_pass)


if __name__ == "__main__":
    main()
