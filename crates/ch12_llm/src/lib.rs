#![doc = include_str!("../README.md")]

pub mod config;
pub mod experiment;
pub mod gpt;
pub mod text;
