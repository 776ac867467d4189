#![doc = include_str!("../README.md")]

pub mod config;
pub mod experiments;
pub mod idf;
pub mod realnvp;
