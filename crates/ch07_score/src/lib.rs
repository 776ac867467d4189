#![doc = include_str!("../README.md")]

pub mod config;
pub mod experiment;
pub mod fm;
pub mod nets;
pub mod ode;
pub mod sbgm;
pub mod sm;
