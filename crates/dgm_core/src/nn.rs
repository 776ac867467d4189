//! Small building blocks shared by several chapters: the multilayer perceptron the books use for
//! every "network" that is not the chapter's idea (coupling nets, encoders, decoders, critics).

use burn::module::Param;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, tanh};
use serde::{Deserialize, Serialize};

use crate::fused;

/// Slope of the negative part of LeakyReLU (PyTorch's default).
pub const LEAKY_SLOPE: f64 = 0.01;

/// An element-wise nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    Identity,
    Relu,
    LeakyRelu,
    Tanh,
    /// x Phi(x), Phi the standard normal CDF.
    Gelu,
    /// x sigmoid(1.702 x), the sigmoid approximation of GELU.
    SigmoidGelu,
    /// lambda x for x > 0, lambda alpha (e^x - 1) otherwise (Klambauer et al., 2017).
    Selu,
    /// x sigmoid(x), also called swish.
    Silu,
    /// x for x > 0, e^x - 1 otherwise (Clevert et al., 2016).
    Elu,
}

impl Activation {
    /// Applies the nonlinearity to every element.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Identity => x,
            Activation::Relu => relu(x),
            // leaky_relu(x) = a x + (1 - a) relu(x): the same function, written with relu because
            // burn's autodiff differentiates relu with one fused kernel, while its leaky_relu
            // backward goes through a slow masked select (a third of a RealNVP step on flex).
            Activation::LeakyRelu => x.clone() * LEAKY_SLOPE + relu(x) * (1.0 - LEAKY_SLOPE),
            Activation::Tanh => tanh(x),
            Activation::Gelu => fused::gelu(x),
            Activation::SigmoidGelu => x.clone() * sigmoid(x * 1.702),
            // One fused pass each way on burn-flex (see `fused`).
            Activation::Selu => fused::selu(x),
            Activation::Silu => x.clone() * sigmoid(x),
            // relu(x) + exp(min(x, 0)) - 1, with min(x, 0) = -relu(-x).
            Activation::Elu => relu(x.clone()) + relu(x.neg()).neg().exp() - 1.0,
        }
    }
}

/// How the weights of a new layer are drawn: the two books' frameworks differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Init {
    /// PyTorch's `nn.Linear`: weights and biases uniform in +-1/sqrt(fan_in).
    PyTorch,
    /// Keras' `Dense`: Glorot-uniform weights, +-sqrt(6 / (fan_in + fan_out)), and zero biases.
    Keras,
}

/// Linear layers with `hidden` between them and `output` after the last.
///
/// `Mlp::new(&[32, 256, 256, 32], LeakyRelu, Tanh, Init::PyTorch, device)` is
/// Linear(32, 256) -> LeakyReLU -> Linear(256, 256) -> LeakyReLU -> Linear(256, 32) -> Tanh.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    #[module(skip)]
    hidden: Activation,
    #[module(skip)]
    output: Activation,
}

impl Mlp {
    /// `widths` = [input, hidden..., output]; at least two entries.
    pub fn new(
        widths: &[usize],
        hidden: Activation,
        output: Activation,
        init: Init,
        device: &Device,
    ) -> Mlp {
        assert!(
            widths.len() >= 2,
            "an MLP needs an input and an output width"
        );
        let layers = widths
            .windows(2)
            .map(|w| {
                let config = LinearConfig::new(w[0], w[1]);
                match init {
                    // burn's default is PyTorch's.
                    Init::PyTorch => config.init(device),
                    Init::Keras => {
                        let mut layer = config
                            .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                            .init(device);
                        layer.bias = Some(Param::from_tensor(Tensor::zeros([w[1]], device)));
                        layer
                    }
                }
            })
            .collect();
        Mlp {
            layers,
            hidden,
            output,
        }
    }

    /// The same network with its last layer's weights and biases set to zero: it outputs 0
    /// for every input until training moves it, so a layer built on it starts as the identity.
    pub fn zero_output(mut self) -> Mlp {
        let last = self.layers.len() - 1;
        let layer = &mut self.layers[last];
        let device = layer.weight.device();
        layer.weight = Param::from_tensor(layer.weight.val().zeros_like());
        layer.bias = layer
            .bias
            .as_ref()
            .map(|b| Param::from_tensor(Tensor::zeros(b.dims(), &device)));
        self
    }

    /// # Shapes
    /// - x: [batch, widths[0]]
    /// - returns: [batch, widths[last]]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |h, (i, layer)| {
            let h = fused::linear_layer(layer, h);
            if i < last {
                self.hidden.apply(h)
            } else {
                self.output.apply(h)
            }
        })
    }
}

/// Layer normalisation over the last dimension with a learned scale and shift: PyTorch's and
/// burn's `LayerNorm` (gamma = 1, beta = 0 at the start, epsilon 1e-5), one fused pass each
/// way on burn-flex ([`fused::layer_norm`]).
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// gamma: [D]
    gamma: Param<Tensor<1>>,
    /// beta: [D]
    beta: Param<Tensor<1>>,
}

impl LayerNorm {
    /// Added to the variance before its square root.
    pub const EPSILON: f64 = 1e-5;

    /// The identity map on rows of `width` values, as training starts.
    pub fn new(width: usize, device: &Device) -> LayerNorm {
        LayerNorm {
            gamma: Param::from_tensor(Tensor::ones([width], device)),
            beta: Param::from_tensor(Tensor::zeros([width], device)),
        }
    }

    /// gamma (x - mean(x)) / sqrt(var(x) + epsilon) + beta over the last dimension.
    pub fn forward<const N: usize>(&self, x: Tensor<N>) -> Tensor<N> {
        fused::layer_norm(x, self.gamma.val(), self.beta.val(), Self::EPSILON)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::{SELU_ALPHA, SELU_LAMBDA};

    #[test]
    fn widths_and_activations_shape_the_output() {
        let device = Device::flex();
        let mlp = Mlp::new(
            &[3, 5, 2],
            Activation::Relu,
            Activation::Tanh,
            Init::PyTorch,
            &device,
        );
        assert_eq!(mlp.num_params(), 3 * 5 + 5 + 5 * 2 + 2);
        let y = mlp.forward(Tensor::<2>::ones([4, 3], &device) * 100.0);
        assert_eq!(y.dims(), [4, 2]);
        let values = crate::data::to_host(y);
        assert!(
            values.iter().all(|v| v.abs() <= 1.0),
            "tanh bounds {values:?}"
        );
    }

    #[test]
    fn a_zeroed_output_layer_outputs_zero_and_still_learns() {
        let device = Device::flex().autodiff();
        let act = Activation::LeakyRelu;
        let mlp = Mlp::new(
            &[3, 4, 2],
            act,
            Activation::Identity,
            Init::PyTorch,
            &device,
        )
        .zero_output();
        let x = Tensor::<2>::ones([5, 3], &device);
        let y = mlp.forward(x);
        assert!(crate::data::to_host(y.clone()).iter().all(|&v| v == 0.0));
        // The zeroed weights are still parameters: the loss has a gradient for them.
        let grads = y.sum().backward();
        let weight = &mlp.layers[1].weight;
        let grad = weight
            .grad(&grads)
            .expect("the last layer's weight is trained");
        assert!(crate::data::to_host(grad).iter().any(|&g| g != 0.0));
    }

    /// `activation` at `points` is within 1e-5 of `expected`, point by point.
    fn assert_activation(activation: Activation, points: &[f32], expected: &[f32]) {
        let x = Tensor::<1>::from_data(
            burn::tensor::TensorData::new(points.to_vec(), [points.len()]),
            &Device::flex(),
        );
        let y = crate::data::to_host(activation.apply(x));
        for (got, want) in y.iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{activation:?}: {y:?}");
        }
    }

    #[test]
    fn selu_at_known_points() {
        let expected = [
            (SELU_LAMBDA * SELU_ALPHA * ((-1f64).exp() - 1.0)) as f32,
            0.0,
            (2.0 * SELU_LAMBDA) as f32,
        ];
        assert_activation(Activation::Selu, &[-1.0, 0.0, 2.0], &expected);
    }

    #[test]
    fn silu_and_elu_at_known_points() {
        let points = [-2.0f32, 0.0, 3.0];
        // x / (1 + e^-x)
        let silu = [-2.0 / (1.0 + 2f32.exp()), 0.0, 3.0 / (1.0 + (-3f32).exp())];
        assert_activation(Activation::Silu, &points, &silu);
        assert_activation(Activation::Elu, &points, &[(-2f32).exp() - 1.0, 0.0, 3.0]);
    }

    #[test]
    fn the_layer_norm_is_burns_layer_norm_at_the_start() {
        let device = Device::flex();
        let x = Tensor::<3>::random(
            [2, 5, 12],
            burn::tensor::Distribution::Normal(1.0, 3.0),
            &device,
        );
        let ours = crate::data::to_host(LayerNorm::new(12, &device).forward(x.clone()));
        let burns =
            crate::data::to_host(burn::nn::LayerNormConfig::new(12).init(&device).forward(x));
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn the_two_gelus_agree_where_they_should() {
        let device = Device::flex();
        let x = Tensor::<1>::from_data(
            burn::tensor::TensorData::new(vec![-3.0f32, -1.0, 0.0, 1.0, 3.0], [5]),
            &device,
        );
        let exact = crate::data::to_host(Activation::Gelu.apply(x.clone()));
        let approx = crate::data::to_host(Activation::SigmoidGelu.apply(x));
        // GELU(1) = Phi(1) = 0.8413; the approximation is within a few hundredths everywhere.
        assert!((exact[3] - 0.8413).abs() < 1e-3, "{exact:?}");
        for (e, a) in exact.iter().zip(&approx) {
            assert!((e - a).abs() < 0.03, "{exact:?} vs {approx:?}");
        }
    }

    #[test]
    fn leaky_relu_and_its_gradient() {
        let device = Device::flex().autodiff();
        let values = vec![-2.0f32, -0.5, 0.0, 0.5, 3.0];
        let x = Tensor::<1>::from_data(burn::tensor::TensorData::new(values, [5]), &device)
            .require_grad();
        let y = Activation::LeakyRelu.apply(x.clone());
        let expected = [-0.02f32, -0.005, 0.0, 0.5, 3.0];
        for (got, want) in crate::data::to_host(y.clone()).iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        let grads = y.sum().backward();
        let slopes = crate::data::to_host(x.grad(&grads).unwrap());
        // relu'(0) = 0, as in PyTorch, so the slope at 0 is the negative side's.
        let expected = [0.01f32, 0.01, 0.01, 1.0, 1.0];
        for (got, want) in slopes.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "slopes {slopes:?}");
        }
    }

    #[test]
    fn the_two_initialisations_follow_their_frameworks() {
        let device = Device::flex();
        device.seed(0);
        let (fan_in, fan_out) = (400, 100);
        let identity = Activation::Identity;
        let torch = Mlp::new(
            &[fan_in, fan_out],
            identity,
            identity,
            Init::PyTorch,
            &device,
        );
        let keras = Mlp::new(&[fan_in, fan_out], identity, identity, Init::Keras, &device);
        let max_abs = |t: Tensor<2>| {
            crate::data::to_host(t)
                .iter()
                .fold(0f32, |m, v| m.max(v.abs()))
        };
        let torch_limit = 1.0 / (fan_in as f32).sqrt();
        let keras_limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
        // 40,000 uniform draws come within 1% of their bound.
        let torch_max = max_abs(torch.layers[0].weight.val());
        let keras_max = max_abs(keras.layers[0].weight.val());
        assert!(
            torch_max <= torch_limit && torch_max > 0.99 * torch_limit,
            "{torch_max}"
        );
        assert!(
            keras_max <= keras_limit && keras_max > 0.99 * keras_limit,
            "{keras_max}"
        );
        let keras_bias = crate::data::to_host(keras.layers[0].bias.as_ref().unwrap().val());
        assert!(keras_bias.iter().all(|&b| b == 0.0));
    }
}
