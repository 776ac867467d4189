//! Tomczak's decoder transformer on SMILES strings from start to report, and the verbs that
//! reuse its checkpoint.
//!
//! The network is `dgm_core::transformer::DecoderTransformer`; this file is what is particular
//! to molecules: the scores (exact NLL per molecule, next-token accuracy) and the generated
//! strings with the share that is grammatical SMILES.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use dgm_core::cli::Command;
use dgm_core::experiment::{Bench, Run, TextSamples, time_passes};
use dgm_core::report::Report;
use dgm_core::run::{RunContext, RunDir};
use dgm_core::train::Trainer;
use dgm_core::transformer::{
    DecoderTransformer, Generation, Sampling, evaluate, generate, sequence_epoch,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::TransformerConfig;
use crate::molecules::{END, Molecules};
use crate::smiles::is_valid;

/// This model's subcommand.
pub const MODEL: &str = "transformer";

/// The files a run writes, by role.
pub const ARTIFACTS: [(&str, &str); 6] = [
    ("molecules", "molecules.txt"),
    ("curve", "curve.png"),
    ("curve_csv", "curve.csv"),
    ("config", "config.json"),
    ("checkpoint", "checkpoint.bpk"),
    ("summary", "summary.txt"),
];

/// Temperature 1 and every token: the model's own distribution, as in the book.
const SAMPLING: Sampling = Sampling {
    temperature: 1.0,
    top_k: None,
};

/// `n` molecules drawn from the model, as strings.
pub fn generate_molecules(
    model: &DecoderTransformer,
    molecules: &Molecules,
    n: usize,
    seed: u64,
    device: &Device,
) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let how = Generation {
        start: molecules.start(),
        end: Some(END),
        length: molecules.train.length,
        sampling: SAMPLING,
    };
    let rows = generate(model, n, &how, &mut rng, device);
    rows.iter().map(|row| molecules.decode(row)).collect()
}

// ANCHOR: validity
/// The generated molecules' scores: the share that is grammatical SMILES, the share of those
/// that are distinct, and the share of the distinct ones not in the training split.
pub fn generation_scores(
    generated: &[String],
    train: &HashSet<String>,
) -> [(&'static str, f64); 3] {
    let valid: Vec<&String> = generated.iter().filter(|s| is_valid(s)).collect();
    let distinct: HashSet<&String> = valid.iter().copied().collect();
    let novel = distinct.iter().filter(|s| !train.contains(**s)).count();
    let share = |part: usize, whole: usize| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    };
    [
        ("validity", share(valid.len(), generated.len())),
        ("uniqueness", share(distinct.len(), valid.len())),
        ("novelty", share(novel, distinct.len())),
    ]
}
// ANCHOR_END: validity

/// Writes one generated molecule per line, marked `ok` when grammatical and `--` when not.
fn write_molecules(path: &Path, generated: &[String]) -> Result<()> {
    let lines: String = generated
        .iter()
        .map(|s| format!("{} {s}\n", if is_valid(s) { "ok" } else { "--" }))
        .collect();
    std::fs::write(path, lines)?;
    Ok(())
}

/// The SMILES transformer on the command line.
pub struct SmilesTransformer;

impl Command for SmilesTransformer {
    type Config = TransformerConfig;
    type Samples = TextSamples;

    fn name(&self) -> &'static str {
        MODEL
    }

    /// Trains with early stopping on the validation NLL, scores the best model on the test
    /// split, generates molecules and writes every output of the run.
    fn train(&self, config: &TransformerConfig, ctx: &RunContext) -> Result<Report> {
        let molecules = Molecules::load(&config.selection)?;
        let run = Run::start(ctx, config)?;
        let mut trainer = Trainer::adamax(&config.schedule, ctx);
        let model = DecoderTransformer::new(&config.decoder(&molecules), trainer.device());
        let parameters = model.num_params();
        let batch = config.schedule.batch_size;
        let fitted = run.fit_epochs(
            model,
            &mut trainer,
            "val_nll",
            |trainer, model, epoch| sequence_epoch(trainer, model, &molecules.train, epoch, None),
            |model| evaluate(&model.valid(), &molecules.val, batch, &ctx.device).nll_per_sequence,
        )?;

        let best = fitted.best_model.valid();
        let test = evaluate(&best, &molecules.test, batch, &ctx.device);
        let generated =
            generate_molecules(&best, &molecules, config.samples, ctx.seed, &ctx.device);
        write_molecules(&run.dir.path("molecules.txt"), &generated)?;
        let mut metrics = vec![
            ("test_nll", test.nll_per_sequence),
            ("test_nll_per_token", test.nll_per_token),
            ("test_accuracy", test.accuracy),
        ];
        metrics.extend(generation_scores(&generated, &molecules.train_smiles));
        run.finish(&fitted.summary(), parameters, &metrics, &ARTIFACTS)
    }

    /// Reloads the best checkpoint of a finished run and writes `n` new molecules, one per line,
    /// to `--text` (default: `molecules-seed<seed>.txt` in the run directory).
    fn sample(&self, ctx: &RunContext, request: &TextSamples) -> Result<Vec<PathBuf>> {
        let n = request.count()?;
        let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
        let config: TransformerConfig = run.read_config(MODEL)?;
        let molecules = Molecules::load(&config.selection)?;
        let model = run.load_checkpoint(DecoderTransformer::new(
            &config.decoder(&molecules),
            &ctx.device,
        ))?;
        let generated = generate_molecules(&model, &molecules, n, ctx.seed, &ctx.device);
        let path = request
            .text
            .clone()
            .unwrap_or_else(|| run.path(&format!("molecules-seed{}.txt", ctx.seed)));
        write_molecules(&path, &generated)?;
        Ok(vec![path])
    }

    /// Times training passes over the 6600 training molecules and the generation of 64.
    fn bench(&self, config: &TransformerConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let molecules = Molecules::load(&config.selection)?;
        let mut trainer = Trainer::adamax(&config.schedule, ctx);
        let model = DecoderTransformer::new(&config.decoder(&molecules), trainer.device());
        time_passes(
            ctx,
            passes,
            model,
            |model, pass| Ok(sequence_epoch(&mut trainer, model, &molecules.train, pass, None)?.0),
            |model| {
                generate_molecules(&model.valid(), &molecules, 64, ctx.seed, &ctx.device);
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_scores_count_valid_distinct_and_new_molecules() {
        let generated: Vec<String> = ["CCO", "CCO", "c1ccccc1", "C(C", "CN", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let train: HashSet<String> = ["CCO".to_string()].into();
        let scores = generation_scores(&generated, &train);
        // valid: CCO, CCO, c1ccccc1, CN (the unclosed branch and the empty string are not)
        assert_eq!(scores[0], ("validity", 4.0 / 6.0));
        // distinct among them: CCO, c1ccccc1, CN
        assert_eq!(scores[1], ("uniqueness", 3.0 / 4.0));
        // not in training: c1ccccc1, CN
        assert_eq!(scores[2], ("novelty", 2.0 / 3.0));
    }
}
