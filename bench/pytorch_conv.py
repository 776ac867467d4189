"""The PyTorch twin of `crates/dgm_core/examples/conv_bench.rs` (`bench/twin.py` says what a
twin is): the convolution stacks of Foster's image chapters, a step being the forward pass of
a batch, the mean of the output, and its backward pass.

    python bench/pytorch_conv.py --model dcgan-critic-64 --threads 1 --passes 3

- dcgan-critic-64 / -32: DCGAN's discriminator (04_gan/01_dcgan) without BatchNorm and
  dropout: 4x4 convolutions of stride 2, LeakyReLU(0.2), a 4x4 valid convolution to 1; 64x64
  grey images in batches of 32, or 32x32 RGB images in batches of 64.
- dcgan-generator-64 / -32: its generator without BatchNorm: z of 100, 4x4 transposed
  convolutions up to the image, LeakyReLU(0.2), tanh.
- pixelcnn-block-28: a residual block of PixelCNN (05_autoregressive/02_pixelcnn) at 28x28:
  1x1 (128 -> 64), a masked 3x3 of type B, 1x1 (64 -> 128), ReLU after each, plus the input.
- unet-block-32: a residual block of the diffusion U-Net (08_diffusion) at 32x32, width 64:
  conv 3x3, swish, conv 3x3, plus the input.

A pass is 4 steps.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from twin import arguments, time_passes

STEPS = 4


def critic(channels, size):
    widths = [64, 128, 256, 512] if size == 64 else [64, 128, 256]
    layers, c_in = [], channels
    for c_out in widths:
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]
        c_in = c_out
    layers.append(nn.Conv2d(c_in, 1, 4, 1, 0))
    return nn.Sequential(*layers)


def generator(channels, size):
    widths = [512, 256, 128, 64] if size == 64 else [256, 128, 64]
    layers = [nn.ConvTranspose2d(100, widths[0], 4, 1, 0), nn.LeakyReLU(0.2)]
    for c_in, c_out in zip(widths, widths[1:]):
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]
    layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


class PixelCnnBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.reduce = nn.Conv2d(128, 64, 1)
        self.masked = nn.Conv2d(64, 64, 3, padding=1)
        self.expand = nn.Conv2d(64, 128, 1)
        # Type B: the rows above the centre, and the centre row up to and including it.
        self.register_buffer("mask", torch.tensor([1.0, 1, 1, 1, 1, 0, 0, 0, 0]).view(1, 1, 3, 3))

    def forward(self, x):
        h = F.relu(self.reduce(x))
        h = F.relu(F.conv2d(h, self.masked.weight * self.mask, self.masked.bias, padding=1))
        return x + F.relu(self.expand(h))


class UnetBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(64, 64, 3, padding=1)
        self.second = nn.Conv2d(64, 64, 3, padding=1)

    def forward(self, x):
        return x + self.second(F.silu(self.first(x)))


CASES = {
    "dcgan-critic-64": (lambda: critic(1, 64), (32, 1, 64, 64)),
    "dcgan-generator-64": (lambda: generator(1, 64), (32, 100, 1, 1)),
    "dcgan-critic-32": (lambda: critic(3, 32), (64, 3, 32, 32)),
    "dcgan-generator-32": (lambda: generator(3, 32), (64, 100, 1, 1)),
    "pixelcnn-block-28": (PixelCnnBlock, (32, 128, 28, 28)),
    "unet-block-32": (UnetBlock, (32, 64, 32, 32)),
}


def main():
    args = arguments(CASES)
    build, shape = CASES[args.model]
    net = build()
    x = torch.randn(shape)

    def one_pass():
        for _ in range(STEPS):
            net.zero_grad(set_to_none=True)
            net(x).mean().backward()

    time_passes(args, one_pass)


if __name__ == "__main__":
    main()
