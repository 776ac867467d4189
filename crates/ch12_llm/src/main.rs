//! `cargo run --release -p ch12_llm [-- teeny-gpt [train|sample|bench]]`

use std::process::ExitCode;

use ch12_llm::experiment::{CHAPTER, TeenyGpt};

fn main() -> ExitCode {
    let about = "Chapter 12: a character-level GPT.";
    let help = "Tomczak's teeny GPT on Shakespeare's characters (the default).";
    dgm_core::cli::main_one(CHAPTER, about, help, &TeenyGpt)
}
