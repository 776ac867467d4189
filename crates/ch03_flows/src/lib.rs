#![doc = include_str!("../README.md")]

pub mod config;
pub mod experiment;
pub mod idf;
pub mod moons;
pub mod realnvp;
pub mod reversal;
