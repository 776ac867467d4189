//! Plumbing shared by every chapter of *Deep Generative Modeling in Rust*.
//!
//! Nothing here is a chapter's model. A chapter crate takes its data, log-densities, training-loop
//! pieces, pictures and report from these modules, so that its own files hold only the idea of
//! the chapter.
//!
//! The modules form layers, read bottom up: each imports only from the layers below it, so
//! there is no import circle (`cargo xtask check-all` checks it).
//!
//! | layer | module | holds |
//! |---|---|---|
//! | leaves | [`backend`] | the CPU default, GPU backends behind features, `--backend`, seeding, threads |
//! | | [`config`] | the presets of every config and the training [`config::Schedule`] |
//! | | [`data`] | the digits split, two moons, batching, `.npy` export |
//! | | [`distributions`] | log-densities shared by several chapters |
//! | | [`fused`] | activations in one pass forward and backward on burn-flex |
//! | | [`nn`] | the MLP the books build every auxiliary network from |
//! | | [`optim`] | Adamax, the books' optimiser (burn does not ship it) |
//! | | [`attention`] | causal multi-head self-attention with its weights |
//! | | [`images`] | sample grids as upscaled PNGs |
//! | | [`metrics`] | means over a split, bits per dimension, baselines, the finite-loss check |
//! | | [`plot`] | line plots and 2-D scatter panels as PNG with a CSV beside them |
//! | | [`report`] | the `report.json` every run writes and the closing summary |
//! | | [`snapshot`] | `snapshot.bin`, the state a run resumes from, and atomic writes |
//! | | [`interrupt`] | Ctrl-C: stop after the current batch |
//! | runs | [`run`] | the output directory of a run, its config and checkpoint; the run's context |
//! | | [`quality`] | sample quality: a fixed digit classifier, `sample_fd`, `sample_confidence` |
//! | training | [`train`] | the batch loop and its [`train::Trainer`], early stopping, the epoch loop, curves |
//! | | [`transformer`] | the decoder transformer, token sequences, their NLL, training pass and sampling |
//! | experiment | [`experiment`] | a run from config to report, [`experiment::DigitModel`] and its `sample` and `bench`, real-data grids, sample scores |
//! | command line | [`cli`] | [`cli::Flags`], the verbs [`cli::Action`], a model on the command line ([`cli::Command`]) |
//! | tests | [`testing`] | the setup of every chapter's smoke tests |

pub mod attention;
pub mod backend;
pub mod cli;
pub mod config;
pub mod data;
pub mod distributions;
pub mod experiment;
pub mod fused;
pub mod images;
pub mod interrupt;
pub mod metrics;
pub mod nn;
pub mod optim;
pub mod plot;
pub mod quality;
pub mod report;
pub mod run;
pub mod snapshot;
pub mod testing;
pub mod train;
pub mod transformer;
