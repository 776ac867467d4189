#![doc = include_str!("../README.md")]

pub mod config;
pub mod experiment;
pub mod pictures;
pub mod prior;
pub mod vae;
