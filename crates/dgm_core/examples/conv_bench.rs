//! Seconds of a training step of the convolution stacks of Foster's image chapters, with the
//! convolutions of `dgm_core::fused` or (`--burn`) burn's own: the `conv` cases of
//! `cargo xtask bench`, whose PyTorch twin is `bench/pytorch_conv.py`.
//!
//! `cargo run --release -p dgm_core --example conv_bench -- --model dcgan-critic-64 --threads 1`
//!
//! A step is the forward pass of a batch, a loss (the mean of the output) and its backward pass:
//! the gradients of every weight and bias and of every hidden activation. A pass is
//! [`STEPS`] steps; the line printed last is JSON, as the chapters' `bench` verb prints.

use std::time::Instant;

use anyhow::{Result, bail};
use burn::tensor::activation::{relu, silu};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor};
use clap::Parser;
use dgm_core::fused;
use dgm_core::train::median;

/// Steps of one timed pass.
const STEPS: usize = 4;

#[derive(Parser)]
struct Args {
    /// dcgan-critic-64, dcgan-generator-64, dcgan-critic-32, dcgan-generator-32,
    /// pixelcnn-block-28 or unet-block-32.
    #[arg(long)]
    model: String,
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed passes after one untimed warm-up pass.
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Use burn's convolutions instead of `dgm_core::fused`'s.
    #[arg(long)]
    burn: bool,
}

/// One convolution layer: its weights and bias, each tracked for a gradient.
struct Layer {
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: usize,
    padding: usize,
}

impl Layer {
    /// Weights [C_out, C_in, k, k] (for a transposed layer [C_in, C_out, k, k]) ~ N(0, 0.02^2),
    /// DCGAN's initialisation, and a zero bias of `bias` channels.
    fn new(
        shape: [usize; 4],
        bias: usize,
        stride: usize,
        padding: usize,
        device: &Device,
    ) -> Layer {
        Layer {
            weight: Tensor::random(shape, Distribution::Normal(0.0, 0.02), device).require_grad(),
            bias: Tensor::zeros([bias], device).require_grad(),
            stride,
            padding,
        }
    }

    fn conv(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
        d: &Device,
    ) -> Layer {
        Layer::new([c_out, c_in, k, k], c_out, stride, padding, d)
    }

    fn transposed(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
        d: &Device,
    ) -> Layer {
        Layer::new([c_in, c_out, k, k], c_out, stride, padding, d)
    }

    /// y = conv2d(x, W, b), by burn or by `dgm_core::fused`.
    fn forward(&self, x: Tensor<4>, burn: bool) -> Tensor<4> {
        let options = ConvOptions::new([self.stride; 2], [self.padding; 2], [1, 1], 1);
        let (w, b) = (self.weight.clone(), Some(self.bias.clone()));
        if burn {
            burn::tensor::module::conv2d(x, w, b, options)
        } else {
            fused::conv2d(x, w, b, options)
        }
    }

    /// y = conv_transpose2d(x, W, b), by burn or by `dgm_core::fused`.
    fn forward_transposed(&self, x: Tensor<4>, burn: bool) -> Tensor<4> {
        let options =
            ConvTransposeOptions::new([self.stride; 2], [self.padding; 2], [0, 0], [1, 1], 1);
        let (w, b) = (self.weight.clone(), Some(self.bias.clone()));
        if burn {
            burn::tensor::module::conv_transpose2d(x, w, b, options)
        } else {
            fused::conv_transpose2d(x, w, b, options)
        }
    }
}

/// LeakyReLU(0.2) as a x + (1 - a) relu(x), as `dgm_core::nn` writes it: burn's autodiff
/// differentiates relu in one kernel and its leaky_relu through a masked select.
fn leaky_relu(x: Tensor<4>) -> Tensor<4> {
    x.clone() * 0.2 + relu(x) * 0.8
}

/// A case: its layers, its input shape, and its forward pass.
struct Case {
    layers: Vec<Layer>,
    input: [usize; 4],
    forward: fn(&[Layer], Tensor<4>, bool) -> Tensor<4>,
}

/// DCGAN's critic on [N, C, S, S]: 4x4 convolutions of stride 2 (64, 128, 256, 512 channels,
/// halving the size down to 4x4) with LeakyReLU(0.2), then a 4x4 valid convolution to 1.
fn critic(channels: usize, size: usize, batch: usize, device: &Device) -> Case {
    let widths: &[usize] = if size == 64 {
        &[64, 128, 256, 512]
    } else {
        &[64, 128, 256]
    };
    let mut layers = Vec::new();
    let mut c_in = channels;
    for &c_out in widths {
        layers.push(Layer::conv(c_in, c_out, 4, 2, 1, device));
        c_in = c_out;
    }
    layers.push(Layer::conv(c_in, 1, 4, 1, 0, device));
    Case {
        layers,
        input: [batch, channels, size, size],
        forward: |layers, mut x, burn| {
            let (last, hidden) = layers.split_last().expect("a critic has layers");
            for layer in hidden {
                x = leaky_relu(layer.forward(x, burn));
            }
            last.forward(x, burn)
        },
    }
}

/// DCGAN's generator to [N, C, S, S]: z [N, 100, 1, 1], a 4x4 valid transposed convolution to
/// 4x4, then 4x4 transposed convolutions of stride 2 doubling the size (512, 256, 128, 64
/// channels at 64x64) with LeakyReLU(0.2), the last to C channels with tanh.
fn generator(channels: usize, size: usize, batch: usize, device: &Device) -> Case {
    let widths: &[usize] = if size == 64 {
        &[512, 256, 128, 64]
    } else {
        &[256, 128, 64]
    };
    let mut layers = vec![Layer::transposed(100, widths[0], 4, 1, 0, device)];
    for pair in widths.windows(2) {
        layers.push(Layer::transposed(pair[0], pair[1], 4, 2, 1, device));
    }
    layers.push(Layer::transposed(
        widths[widths.len() - 1],
        channels,
        4,
        2,
        1,
        device,
    ));
    Case {
        layers,
        input: [batch, 100, 1, 1],
        forward: |layers, mut x, burn| {
            let (last, hidden) = layers.split_last().expect("a generator has layers");
            for layer in hidden {
                x = leaky_relu(layer.forward_transposed(x, burn));
            }
            last.forward_transposed(x, burn).tanh()
        },
    }
}

/// PixelCNN's residual block at 28x28: 1x1 (128 -> 64), ReLU, a masked 3x3 of type B
/// (64 -> 64), ReLU, 1x1 (64 -> 128), ReLU, plus the input.
fn pixelcnn_block(batch: usize, device: &Device) -> Case {
    Case {
        layers: vec![
            Layer::conv(128, 64, 1, 1, 0, device),
            Layer::conv(64, 64, 3, 1, 1, device),
            Layer::conv(64, 128, 1, 1, 0, device),
        ],
        input: [batch, 128, 28, 28],
        forward: |layers, x, burn| {
            // Type B: the rows above the centre, and the centre row up to and including it.
            let mask = Tensor::<1>::from_floats([1., 1., 1., 1., 1., 0., 0., 0., 0.], &x.device())
                .reshape([1, 1, 3, 3]);
            let masked = Layer {
                weight: layers[1].weight.clone() * mask,
                bias: layers[1].bias.clone(),
                stride: 1,
                padding: 1,
            };
            let h = relu(layers[0].forward(x.clone(), burn));
            let h = relu(masked.forward(h, burn));
            x + relu(layers[2].forward(h, burn))
        },
    }
}

/// The U-Net's residual block of chapter 8 at 32x32, width 64: conv 3x3, swish, conv 3x3,
/// plus the input.
fn unet_block(batch: usize, device: &Device) -> Case {
    Case {
        layers: vec![
            Layer::conv(64, 64, 3, 1, 1, device),
            Layer::conv(64, 64, 3, 1, 1, device),
        ],
        input: [batch, 64, 32, 32],
        forward: |layers, x, burn| {
            let h = silu(layers[0].forward(x.clone(), burn));
            x + layers[1].forward(h, burn)
        },
    }
}

fn case(name: &str, device: &Device) -> Result<Case> {
    Ok(match name {
        "dcgan-critic-64" => critic(1, 64, 32, device),
        "dcgan-generator-64" => generator(1, 64, 32, device),
        "dcgan-critic-32" => critic(3, 32, 64, device),
        "dcgan-generator-32" => generator(3, 32, 64, device),
        "pixelcnn-block-28" => pixelcnn_block(32, device),
        "unet-block-32" => unet_block(32, device),
        other => bail!("no case `{other}` (see --help)"),
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    dgm_core::backend::set_threads(args.threads);
    dgm_core::backend::on_worker(|| run(&args))
}

fn run(args: &Args) -> Result<()> {
    let device = Device::flex().autodiff();
    device.seed(0);
    let case = case(&args.model, &device)?;
    let x = Tensor::<4>::random(case.input, Distribution::Normal(0.0, 1.0), &device);
    let mut seconds = Vec::new();
    for pass in 0..=args.passes {
        let start = Instant::now();
        for _ in 0..STEPS {
            let loss = (case.forward)(&case.layers, x.clone(), args.burn).mean();
            let grads = loss.backward();
            for layer in &case.layers {
                anyhow::ensure!(
                    layer.weight.grad(&grads).is_some(),
                    "a weight has no gradient"
                );
            }
        }
        if pass > 0 {
            seconds.push(start.elapsed().as_secs_f64());
        }
    }
    println!(
        "{{\"model\":\"{}\",\"threads\":{},\"s_per_epoch\":{}}}",
        args.model,
        dgm_core::backend::threads(),
        median(seconds)
    );
    Ok(())
}
