//! Adamax (Kingma and Ba, 2015, section 7.1), the optimiser of almost every Tomczak example.
//!
//! burn 0.22 ships Adam but not Adamax. Adamax replaces Adam's second moment with an
//! exponentially weighted infinity norm, which needs no bias correction:
//!
//! m_t = beta_1 m_{t-1} + (1 - beta_1) g_t
//! u_t = max(beta_2 u_{t-1}, |g_t| + eps)
//! theta_t = theta_{t-1} - lr / (1 - beta_1^t) * m_t / u_t
//!
//! (eps inside the max, as in PyTorch's implementation.)

use burn::config::Config;
use burn::optim::{ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};
use burn_pack::Scalar;

use crate::fused::{self, AdamaxStep};

/// Adamax settings; the defaults are PyTorch's.
#[derive(Config, Debug)]
pub struct AdamaxConfig {
    /// Decay of the first moment, beta_1.
    #[config(default = 0.9)]
    pub beta_1: f64,
    /// Decay of the infinity norm, beta_2.
    #[config(default = 0.999)]
    pub beta_2: f64,
    /// Added to |g| so the step is defined when a gradient is 0.
    #[config(default = 1e-8)]
    pub epsilon: f64,
}

impl AdamaxConfig {
    /// An optimiser for every parameter of a module.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(Adamax {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
        })
    }
}

/// The Adamax update rule for one parameter tensor.
#[derive(Clone, Debug)]
pub struct Adamax {
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
}

/// Per-parameter state: the step count t, the first moment m and the infinity norm u.
#[derive(Clone, Debug)]
pub struct AdamaxState<const D: usize> {
    pub time: u64,
    pub moment: Tensor<D>,
    pub inf_norm: Tensor<D>,
}

impl Optimizer for Adamax {
    type State<const D: usize> = AdamaxState<D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        theta: Tensor<D>,
        g: Tensor<D>,
        state: Option<AdamaxState<D>>,
    ) -> (Tensor<D>, Option<AdamaxState<D>>) {
        let (time, moment, inf_norm) = match state {
            Some(s) => (s.time, s.moment, s.inf_norm),
            None => (0, g.zeros_like(), g.zeros_like()),
        };
        let time = time + 1;
        let step = AdamaxStep {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            // lr / (1 - beta_1^t)
            step_size: lr / (1.0 - self.beta_1.powi(time as i32)),
        };
        // One pass over the parameter on burn-flex (see `fused`).
        let (theta, moment, inf_norm) = fused::adamax_step(theta, g, moment, inf_norm, step);
        let state = AdamaxState {
            time,
            moment,
            inf_norm,
        };
        (theta, Some(state))
    }

    fn to_device<const D: usize>(state: AdamaxState<D>, device: &Device) -> AdamaxState<D> {
        AdamaxState {
            time: state.time,
            moment: state.moment.to_device(device),
            inf_norm: state.inf_norm.to_device(device),
        }
    }
}

// Written by hand: burn's `#[derive(RecordState)]` only works inside burn-optim.
impl<const D: usize> RecordState for AdamaxState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "time", Scalar::from(self.time));
        out.push_tensor(prefix, "moment", self.moment.to_data());
        out.push_tensor(prefix, "inf_norm", self.inf_norm.to_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let time = u64::try_from(src.take_scalar(prefix, "time")?).ok()?;
        let moment = Tensor::from_data(src.take_tensor(prefix, "moment")?, device);
        let inf_norm = Tensor::from_data(src.take_tensor(prefix, "inf_norm")?, device);
        Some(AdamaxState {
            time,
            moment,
            inf_norm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// Two steps by hand on theta = (1, -2), with gradients (0.5, -1) then (0.1, 0.2).
    #[test]
    fn adamax_matches_the_update_rule_by_hand() {
        let device = Device::flex();
        let t = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [2]), &device);
        let adamax = Adamax {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
        };
        let lr = 0.01;
        let (theta, state) = adamax.step(lr, t(vec![1.0, -2.0]), t(vec![0.5, -1.0]), None);
        // Step 1: m = 0.1 g, u = |g|, theta -= lr / 0.1 * m / u = lr * sign(g).
        let got: Vec<f32> = theta.clone().try_into_vec_as().unwrap();
        assert!(
            (got[0] - 0.99).abs() < 1e-6 && (got[1] + 1.99).abs() < 1e-6,
            "{got:?}"
        );

        let (theta, state) = adamax.step(lr, theta, t(vec![0.1, 0.2]), state);
        // Step 2: m = 0.9 m1 + 0.1 g2; u = max(0.999 u1, |g2|); theta -= lr / 0.19 * m / u.
        let m = [0.9 * 0.05 + 0.01, 0.9 * -0.1 + 0.02];
        let u = [0.999 * 0.5, 0.999 * 1.0];
        let expected = [
            0.99 - lr / 0.19 * m[0] / u[0],
            -1.99 - lr / 0.19 * m[1] / u[1],
        ];
        let got: Vec<f32> = theta.clone().try_into_vec_as().unwrap();
        for i in 0..2 {
            assert!(
                (got[i] as f64 - expected[i]).abs() < 1e-6,
                "{got:?} vs {expected:?}"
            );
        }
        assert_eq!(state.unwrap().time, 2);
    }
}
