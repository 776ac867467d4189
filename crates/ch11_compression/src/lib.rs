#![doc = include_str!("../README.md")]

pub mod bitstream;
pub mod config;
pub mod experiment;
pub mod model;
pub mod rans;
