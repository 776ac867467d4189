"""The timing harness every PyTorch twin in `bench/` shares.

A twin is the training pass of one of this project's models written in PyTorch: the same
network, optimiser, batch size and number of examples per pass as the model's full
configuration. `cargo xtask bench --vs-pytorch` runs a twin and the Rust model alternately and
divides their seconds. A twin prints one JSON line last, as the Rust `bench` verb does:

    {"model": "vae", "threads": 1, "s_per_epoch": 0.061}

Twins train on random inputs of the data's shape and range: the time of a pass does not depend
on which digits it reads.

Below the harness are the building blocks several twins share: the MLP and the log-densities
of `dgm_core` (`nn::Mlp`, `distributions`).
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def arguments(models):
    """`--model NAME --threads T --passes N`, with NAME one of `models`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=sorted(models), required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    return args


def time_passes(args, one_pass):
    """Times `args.passes` calls of `one_pass()` after one untimed warm-up call and prints the
    median as the JSON line `cargo xtask bench` reads."""
    seconds = []
    for p in range(args.passes + 1):
        start = time.perf_counter()
        one_pass()
        if p > 0:
            seconds.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "model": args.model,
                "threads": args.threads,
                "s_per_epoch": statistics.median(seconds),
            }
        ),
        flush=True,
    )


def batches(data, batch_size):
    """The rows of `data` in a new random order, `batch_size` at a time (the last batch may be
    smaller), as the Rust trainer draws them."""
    order = torch.randperm(data.shape[0])
    for i in range(0, data.shape[0], batch_size):
        yield data[order[i : i + batch_size]]


def train_pass(net, optimiser, data, batch_size, loss):
    """One pass of minibatch training: for each batch, `loss(net, batch)` (a scalar),
    backward, one optimiser step."""

    def one_pass():
        net.train()
        for batch in batches(data, batch_size):
            optimiser.zero_grad(set_to_none=True)
            loss(net, batch).backward()
            optimiser.step()

    return one_pass


def digits(n=1000, dim=64, levels=17):
    """`n` random 8x8 images with integer pixel values in [0, levels), as float32: the shape
    and range of the training split of the digits every chapter of Tomczak's book uses."""
    return torch.randint(0, levels, (n, dim)).float()


def mlp(widths, hidden=nn.LeakyReLU, output=None):
    """Linear layers of `widths` = [input, hidden..., output], the nonlinearity `hidden` (a module
    class) between them and `output` (a module class, or None) after the last: the Rust
    `dgm_core::nn::Mlp`."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(hidden())
        elif output is not None:
            layers.append(output())
    return nn.Sequential(*layers)


# Probabilities are clamped to [EPS, 1 - EPS] before the log, as in the books' helpers.
EPS = 1e-5


def log_categorical(x, logits):
    """log Cat(x | softmax(logits)) summed over dimensions: x [batch, dims] holds integer values
    (as floats), logits [batch, dims, categories]; returns [batch]."""
    # log clamp(p, EPS, 1 - EPS) = clamp(log p, log EPS, log(1 - EPS))
    log_p = F.log_softmax(logits, dim=2).clamp(math.log(EPS), math.log(1.0 - EPS))
    # log p(x_d) for every dimension: [batch, dims, 1] -> [batch]
    return log_p.gather(2, x.long().unsqueeze(2)).sum(dim=(1, 2))


def log_standard_normal(z):
    """log N(z; 0, I) summed over dimensions: z [batch, dims]; returns [batch]."""
    # -D/2 ln(2 pi) - 1/2 sum_d z_d^2
    return -0.5 * z.pow(2).sum(dim=1) - 0.5 * z.shape[1] * math.log(2.0 * math.pi)


def log_normal_diag(z, mu, log_var):
    """log N(z; mu, diag exp(log_var)) summed over dimensions: all [batch, dims]; returns
    [batch]."""
    # -D/2 ln(2 pi) - 1/2 sum_d [log_var_d + (z_d - mu_d)^2 / exp(log_var_d)]
    squared = (z - mu).pow(2) * torch.exp(-log_var)
    return -0.5 * (log_var + squared).sum(dim=1) - 0.5 * z.shape[1] * math.log(2.0 * math.pi)


def reparameterise(mu, log_var):
    """z = mu + exp(log_var / 2) eps with eps ~ N(0, I)."""
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)


def round_straight_through(x):
    """round(x) forward, the identity's gradient backward."""
    return x + (torch.round(x) - x).detach()


def log_discretized_logistic(x, mean, log_scale):
    """log P(x) of integers under a factorised discretised logistic, summed over dimensions:
    x [batch, D], mean and log_scale [1, D]; returns [batch]."""
    inv_scale = torch.exp(-log_scale)
    centred = x - mean
    # a = log sigmoid((x + 1/2 - mu) / s), b = log sigmoid((x - 1/2 - mu) / s)
    a = F.logsigmoid((centred + 0.5) * inv_scale)
    b = F.logsigmoid((centred - 0.5) * inv_scale)
    # log(sigmoid_a - sigmoid_b) = a + log(1 - exp(b - a))
    log_p = a + torch.log(1.0 - torch.exp(b - a) + 1e-8)
    return log_p.sum(dim=1)
