//! Tomczak's decoder transformer on SMILES strings: its settings, one run from start to report,
//! and the verbs that reuse its checkpoint.
//!
//! The network is `dgm_core::transformer::DecoderTransformer`; this file is what is particular
//! to molecules: the data, the scores (exact NLL per molecule, next-token accuracy) and the
//! generated strings with the share that is grammatical SMILES.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::prelude::*;
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::experiment::{Bench, Run, Trainer, time_passes};
use dgm_core::report::Report;
use dgm_core::run::{RunContext, RunDir};
use dgm_core::train::{FitSettings, fit};
use dgm_core::transformer::{
    DecoderConfig, DecoderTransformer, Generation, Sampling, evaluate, generate,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::molecules::{END, Molecules, Selection};
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

/// Model, data and training settings of the SMILES transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    pub selection: Selection,
    /// D: the width of every position's vector.
    pub width: usize,
    /// H: attention heads per block.
    pub heads: usize,
    /// E: the width of one head (the book gives every head the whole width D).
    pub head_width: usize,
    pub blocks: usize,
    /// The hidden width of each block's MLP.
    pub mlp_hidden: usize,
    /// Dropout on the embeddings while training.
    pub dropout: f64,
    /// Molecules per optimiser step.
    pub batch_size: usize,
    /// Adamax learning rate.
    pub learning_rate: f64,
    pub max_epochs: usize,
    /// Consecutive non-improving validation epochs tolerated.
    pub patience: usize,
    /// Molecules generated at the end of training, for the validity score.
    pub samples: usize,
}

impl TransformerConfig {
    /// The network's shape for these molecules: their vocabulary, and inputs as long as the
    /// longest row minus its last id.
    pub fn decoder(&self, molecules: &Molecules) -> DecoderConfig {
        DecoderConfig {
            vocabulary: molecules.vocabulary(),
            positions: molecules.train.length - 1,
            width: self.width,
            heads: self.heads,
            head_width: self.head_width,
            blocks: self.blocks,
            mlp_hidden: self.mlp_hidden,
            dropout: self.dropout,
        }
    }
}

impl Preset for TransformerConfig {
    /// The book's model and training (reference/intro_dgm.md, section 2.2) on the first 7410
    /// MOSES test molecules of 10 to 100 tokens, split 6600 / 400 / 410 like the book's Tox21.
    fn full() -> TransformerConfig {
        TransformerConfig {
            selection: Selection {
                molecules: 7410,
                min_tokens: 10,
                max_tokens: 100,
                train: 6600,
                val: 400,
            },
            width: 64,
            heads: 4,
            head_width: 64,
            blocks: 10,
            mlp_hidden: 256,
            dropout: 0.1,
            batch_size: 64,
            learning_rate: 1e-3,
            max_epochs: 200,
            patience: 10,
            samples: 1028,
        }
    }

    /// Two blocks and three epochs on the same molecules: about a minute on 2 cores.
    fn quick() -> TransformerConfig {
        TransformerConfig {
            blocks: 2,
            max_epochs: 3,
            patience: 2,
            samples: 64,
            ..TransformerConfig::full()
        }
    }

    fn max_epochs(&mut self) -> &mut usize {
        &mut self.max_epochs
    }
}

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

/// Trains with early stopping on the validation NLL, scores the best model on the test split,
/// generates molecules and writes every output of the run.
pub fn train_and_report(
    config: &TransformerConfig,
    molecules: &Molecules,
    ctx: &RunContext,
) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
    let model = DecoderTransformer::new(&config.decoder(molecules), trainer.device());
    let parameters = model.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_nll",
    };
    let batch = config.batch_size;
    let fitted = fit(
        model,
        &settings,
        &run.dir,
        |model, epoch| trainer.sequence_epoch(model, &molecules.train, epoch, None),
        |model| evaluate(&model.valid(), &molecules.val, batch, &ctx.device).nll_per_sequence,
    )?;

    let best = fitted.best_model.valid();
    let test = evaluate(&best, &molecules.test, batch, &ctx.device);
    let generated = generate_molecules(&best, molecules, config.samples, ctx.seed, &ctx.device);
    write_molecules(&run.dir.path("molecules.txt"), &generated)?;
    let mut metrics = vec![
        ("test_nll", test.nll_per_sequence),
        ("test_nll_per_token", test.nll_per_token),
        ("test_accuracy", test.accuracy),
    ];
    metrics.extend(generation_scores(&generated, &molecules.train_smiles));
    run.finish(ctx, &fitted, parameters, config, &metrics, &ARTIFACTS)
}

/// The SMILES transformer on the command line.
pub struct SmilesTransformer;

impl ModelCommand for SmilesTransformer {
    const MODEL: &'static str = MODEL;
    type Config = TransformerConfig;

    fn train(config: &TransformerConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Molecules::load(&config.selection)?, ctx)
    }

    /// Reloads the best checkpoint of a finished run and writes `n` new molecules, one per line,
    /// to `picture` (default: `molecules-seed<seed>.txt` in the run directory).
    fn sample(
        ctx: &RunContext,
        n: usize,
        picture: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        if samples_out.is_some() {
            bail!("molecules are text: name the output file with --grid, not --samples-out");
        }
        let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
        let config: TransformerConfig = run.read_config(MODEL)?;
        let molecules = Molecules::load(&config.selection)?;
        let model = run.load_checkpoint(DecoderTransformer::new(
            &config.decoder(&molecules),
            &ctx.device,
        ))?;
        let generated = generate_molecules(&model, &molecules, n, ctx.seed, &ctx.device);
        let path = picture.unwrap_or_else(|| run.path(&format!("molecules-seed{}.txt", ctx.seed)));
        write_molecules(&path, &generated)?;
        Ok(path)
    }

    /// Times training passes over the 6600 training molecules and the generation of 64.
    fn bench(config: &TransformerConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let molecules = Molecules::load(&config.selection)?;
        let mut trainer = Trainer::adamax(config.learning_rate, config.batch_size, ctx);
        let model = DecoderTransformer::new(&config.decoder(&molecules), trainer.device());
        time_passes(
            ctx,
            passes,
            model,
            |model, pass| {
                Ok(trainer
                    .sequence_epoch(model, &molecules.train, pass, None)?
                    .0)
            },
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
