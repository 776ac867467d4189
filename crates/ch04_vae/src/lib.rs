#![doc = include_str!("../README.md")]

pub mod config;
pub mod experiments;
pub mod prior;
pub mod vae;
