//! The two networks of the chapter: every model here is an MLP D -> M -> M -> M -> D with its
//! output clipped (the book's Hardtanh), given the time through an embedding added to its input
//! when the model needs it.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::tanh;
use dgm_core::fused::linear_layer;
use dgm_core::nn::{Activation, Init, Mlp};

use crate::ode::Field;

// ANCHOR: clipped
/// The MLP both networks share: D -> M -> M -> M -> D, `activation` after each hidden layer and
/// none after the last, initialised as PyTorch does.
fn hidden_layers(dim: usize, hidden: usize, activation: Activation, device: &Device) -> Mlp {
    let (d, m) = (dim, hidden);
    Mlp::new(
        &[d, m, m, m, d],
        activation,
        Activation::Identity,
        Init::PyTorch,
        device,
    )
}

/// x -> clamp(MLP(x), -clip, clip): three hidden layers of width M.
#[derive(Module, Debug)]
pub struct ClippedMlp {
    net: Mlp,
    #[module(skip)]
    clip: f64,
}

impl ClippedMlp {
    pub fn new(
        dim: usize,
        hidden: usize,
        activation: Activation,
        clip: f64,
        device: &Device,
    ) -> ClippedMlp {
        ClippedMlp {
            net: hidden_layers(dim, hidden, activation, device),
            clip,
        }
    }

    /// # Shapes
    /// - x: [batch, D]
    /// - returns: [batch, D]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.net.forward(x).clamp(-self.clip, self.clip)
    }
}
// ANCHOR_END: clipped

// ANCHOR: time_conditioned
/// f(x, t) = clamp(MLP(x + tanh(W t + b)), -clip, clip): the book tells the network the time
/// by adding a learned embedding of t to the input.
#[derive(Module, Debug)]
pub struct TimeConditioned {
    time: Linear,
    net: Mlp,
    #[module(skip)]
    clip: f64,
}

impl TimeConditioned {
    pub fn new(
        dim: usize,
        hidden: usize,
        activation: Activation,
        clip: f64,
        device: &Device,
    ) -> TimeConditioned {
        TimeConditioned {
            time: LinearConfig::new(1, dim).init(device),
            net: hidden_layers(dim, hidden, activation, device),
            clip,
        }
    }

    /// # Shapes
    /// - x: [batch, D]; t: [batch, 1]
    /// - returns: [batch, D]
    pub fn forward(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        let h = x + tanh(linear_layer(&self.time, t));
        self.net.forward(h).clamp(-self.clip, self.clip)
    }
}

impl Field for TimeConditioned {
    fn velocity(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        self.forward(x, t)
    }
}
// ANCHOR_END: time_conditioned
