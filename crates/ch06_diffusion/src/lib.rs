#![doc = include_str!("../README.md")]

pub mod config;
pub mod ddgm;
pub mod experiment;
