"""PyTorch twins of the training passes of `ch07_score`: flow matching (`fm`), denoising score
matching (`sm`) and the score-based model on a variance-exploding SDE (`sbgm`), Tomczak's
notebooks `sbgms/fm_example`, `sbgms/sm_example` and `sbgms/sbgm_example`.

    python bench/pytorch_ch07_score.py --model fm --threads 1 --passes 3

It times what the Rust `bench` verb times (`dgm_core::experiment::bench_digit_model`): one
`Trainer::epoch` over the 1000 training digits with the loss of `ch07_score::fm::fm_loss`,
`ch07_score::sm::dsm_loss` or `ch07_score::sbgm::denoising_loss`, as the full preset of
`ch07_score::config` sets it up:

- every network is the MLP 64 -> 512 -> 512 -> 512 -> 64 with its output clipped (the book's
  Hardtanh): SELU and [-3, 3] for fm (591,552 parameters, with the time embedding
  Linear(1, 64) + tanh added to the input), SELU and [-4, 4] for sm (591,424, no time), SiLU and
  [-3, 3] for sbgm (591,552, with the time embedding);
- images on the [-1, 1] scale, x / 17 * 2 - 1, and one draw of t and of the noise per image;
- batches of 32, the last one of 8 images kept (32 batches per pass); Adamax at 1e-3 (fm, sbgm)
  or 1e-4 (sm), PyTorch's default betas and eps, as `dgm_core::optim` has them.

The losses are the notebooks', but for one sign the Rust code changes and this twin follows:
the sbgm network is the score itself, trained on (sigma_t s + eps)^2, where the notebook's is
minus the score, trained on (eps - sigma_t s)^2.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from twin import arguments, digits, time_passes, train_pass

# Every setting of the full presets: D, M, batch size.
DIM, HIDDEN, BATCH = 64, 512, 32


def to_unit_scale(x):
    """The 17 grey levels 0..16 on the [-1, 1] scale: x / 17 * 2 - 1."""
    return x / 17 * 2 - 1


class ClippedMlp(nn.Module):
    """x -> clamp(MLP(x), -clip, clip), with the MLP D -> M -> M -> M -> D and `activation`
    after each hidden layer. With `timed`, the network is told the time t by adding the learned
    embedding tanh(W t + b) to its input."""

    def __init__(self, activation, clip, timed):
        super().__init__()
        self.activation, self.clip = activation, clip
        self.time = nn.Linear(1, DIM) if timed else None
        self.layers = nn.ModuleList(
            [
                nn.Linear(DIM, HIDDEN),
                nn.Linear(HIDDEN, HIDDEN),
                nn.Linear(HIDDEN, HIDDEN),
                nn.Linear(HIDDEN, DIM),
            ]
        )

    def forward(self, x, t=None):
        h = x if t is None else x + torch.tanh(self.time(t))
        for layer in self.layers[:-1]:
            h = self.activation(layer(h))
        return torch.clamp(self.layers[-1](h), -self.clip, self.clip)


def fm_loss(field, x, sigma_min=0.1):
    """Conditional flow matching with t ~ U(0, 1) and eps ~ N(0, I) for every image."""
    x1 = to_unit_scale(x)
    t = torch.rand(x1.shape[0], 1)
    eps = torch.randn_like(x1)
    # x_t = t x_1 + (1 - (1 - sigma) t) eps
    x_t = x1 * t + eps * (t * (sigma_min - 1) + 1)
    # u_t = (x_1 - (1 - sigma) x_t) / (1 - (1 - sigma) t)
    target = (x1 - x_t * (1 - sigma_min)) / (t * (sigma_min - 1) + 1)
    # mean over the batch and the dimensions of (v(x_t, t) - u_t)^2
    return (field(x_t, t) - target).pow(2).mean()


def dsm_loss(score, x, sigma=0.1):
    """Denoising score matching with eps ~ N(0, I) for every image."""
    x = to_unit_scale(x)
    eps = torch.randn_like(x)
    # x~ = x + sigma eps
    noisy = x + eps * sigma
    # 1/(2 sigma) sum_d (s(x~)_d + eps_d)^2, the batch mean
    return ((score(noisy) + eps).pow(2).sum(1) / (2 * sigma)).mean()


def denoising_loss(score, x, sigma=1.01, t_min=1e-5):
    """The weighted denoising loss of the VE SDE dx = sigma^t dw, with t ~ U(t_min, 1) and
    eps ~ N(0, I) for every image."""
    x0 = to_unit_scale(x)
    t = torch.empty(x0.shape[0], 1).uniform_(t_min, 1)
    eps = torch.randn_like(x0)
    # sigma_t = sqrt((sigma^(2t) - 1) / (2 ln sigma))
    std = torch.sqrt((torch.exp(t * 2 * math.log(sigma)) - 1) / (2 * math.log(sigma)))
    # x_t = x_0 + sigma_t eps
    x_t = x0 + eps * std
    residual = (score(x_t, t) * std + eps).pow(2)
    # 1/2 sigma_t^2 mean_d (sigma_t s(x_t, t)_d + eps_d)^2, the batch mean
    return (residual.mean(1, keepdim=True) * std.pow(2) * 0.5).mean()


def settings(model):
    """The network, its loss and the learning rate of each model's full preset."""
    if model == "fm":
        return ClippedMlp(F.selu, 3.0, timed=True), fm_loss, 1e-3
    if model == "sm":
        return ClippedMlp(F.selu, 4.0, timed=False), dsm_loss, 1e-4
    return ClippedMlp(F.silu, 3.0, timed=True), denoising_loss, 1e-3


def main():
    args = arguments(["fm", "sm", "sbgm"])
    net, loss, learning_rate = settings(args.model)
    print(f"{sum(p.numel() for p in net.parameters())} parameters", flush=True)
    optimiser = torch.optim.Adamax(net.parameters(), lr=learning_rate)
    time_passes(args, train_pass(net, optimiser, digits(), BATCH, loss))


if __name__ == "__main__":
    main()
