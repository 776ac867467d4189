//! What every model's config shares: its presets and its training schedule.
//!
//! A chapter's `config.rs` writes the schedule once, as a [`Schedule`] field flattened into the
//! config (`#[serde(flatten)]`), so `config.json` keeps its flat keys (`batch_size`,
//! `learning_rate`, `max_epochs`, `patience`) and the trainer and the early stopping read the
//! same values from one place.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

// ANCHOR: schedule
/// How a model is trained: the books' protocol of batches, one learning rate and early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Examples per optimiser step.
    pub batch_size: usize,
    /// The optimiser's learning rate.
    pub learning_rate: f64,
    /// Upper bound on epochs; early stopping usually ends training long before.
    pub max_epochs: usize,
    /// Consecutive non-improving validation epochs tolerated (the books' `max_patience`).
    pub patience: usize,
}

impl Schedule {
    /// The protocol of Tomczak's examples: batches of 64 at a learning rate of 1e-3, at most
    /// 1000 epochs, stopping after 21 without improvement (`max_patience` 20).
    pub const TOMCZAK: Schedule = Schedule {
        batch_size: 64,
        learning_rate: 1e-3,
        max_epochs: 1000,
        patience: 20,
    };

    /// The same schedule with at most `max_epochs` epochs and patience `patience`: what most
    /// quick presets change.
    pub fn with_epochs(self, max_epochs: usize, patience: usize) -> Schedule {
        Schedule {
            max_epochs,
            patience,
            ..self
        }
    }
}
// ANCHOR_END: schedule

/// The settings of every model: the book's, and the same model at a seconds-long budget.
pub trait Preset: Clone + Serialize + DeserializeOwned {
    /// The book's settings.
    fn full() -> Self;
    /// The same model with a budget of seconds: proves the plumbing and that it learns.
    fn quick() -> Self;
    /// The field `--epochs` overrides.
    fn max_epochs(&mut self) -> &mut usize;

    /// [`Preset::quick`] or [`Preset::full`].
    fn preset(quick: bool) -> Self {
        if quick { Self::quick() } else { Self::full() }
    }
}
