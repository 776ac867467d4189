#![doc = include_str!("../README.md")]

pub mod bitstream;
pub mod compressor;
pub mod config;
pub mod experiment;
pub mod rans;
