#![doc = include_str!("../README.md")]

pub mod config;
pub mod curve;
pub mod experiment;
pub mod gan;
