#![doc = include_str!("../README.md")]

pub mod arm;
pub mod causal_conv;
pub mod config;
pub mod experiment;
pub mod molecules;
pub mod smiles;
