//! One run of the teeny GPT from start to report, and the verbs that reuse its checkpoint.

use std::path::PathBuf;

use anyhow::Result;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;
use dgm_core::cli::Command;
use dgm_core::experiment::{Bench, Run, TextSamples, time_passes};
use dgm_core::report::Report;
use dgm_core::run::{RunContext, RunDir};
use dgm_core::train::Trainer;
use dgm_core::transformer::{Sampling, evaluate, sequence_epoch};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::LlmConfig;
use crate::gpt::{sample_texts, save_attention, teeny_gpt, write_samples};
use crate::text::Corpus;

/// The crate, as named in paths and reports.
pub const CHAPTER: &str = "ch12_llm";
/// This model's subcommand.
pub const MODEL: &str = "teeny-gpt";

/// The files a run writes, by role.
pub const ARTIFACTS: [(&str, &str); 8] = [
    ("samples", "samples.txt"),
    ("attention", "attention.png"),
    ("attention_csv", "attention.csv"),
    ("curve", "curve.png"),
    ("curve_csv", "curve.csv"),
    ("config", "config.json"),
    ("checkpoint", "checkpoint.bpk"),
    ("summary", "summary.txt"),
];

/// Windows per evaluation batch.
const EVAL_BATCH: usize = 32;
/// How the `sample` verb draws: sharper than the model's own distribution, as the reference's
/// demonstration.
const SAMPLE_VERB: Sampling = Sampling {
    temperature: 0.8,
    top_k: Some(10),
};

/// AdamW with PyTorch's epsilon (1e-8) and the config's weight decay, on the config's schedule.
fn trainer(config: &LlmConfig, ctx: &RunContext) -> Trainer {
    let adamw: ModuleOptimizer = AdamWConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(config.weight_decay as f32)
        .init();
    Trainer::new(adamw, &config.schedule, ctx)
}

/// The teeny GPT on the command line.
pub struct TeenyGpt;

impl TeenyGpt {
    /// Trains on `corpus` within the token budget with early stopping on the validation NLL per
    /// character, scores the best model on the test split, writes samples and the attention
    /// picture.
    pub fn train_on(
        &self,
        config: &LlmConfig,
        corpus: &Corpus,
        ctx: &RunContext,
    ) -> Result<Report> {
        let run = Run::start(ctx, config)?;
        let mut trainer = trainer(config, ctx);
        let model = teeny_gpt(config, &corpus.tokenizer, trainer.device());
        let parameters = model.num_params();
        let steps = Some(config.steps_per_epoch);
        let fitted = run.fit_epochs(
            model,
            &mut trainer,
            "val_nll_per_char",
            |trainer, model, epoch| sequence_epoch(trainer, model, &corpus.train, epoch, steps),
            |model| evaluate(&model.valid(), &corpus.val, EVAL_BATCH, &ctx.device).nll_per_token,
        )?;

        let best = fitted.best_model.valid();
        let test = evaluate(&best, &corpus.test, EVAL_BATCH, &ctx.device);
        let (tokenizer, device) = (&corpus.tokenizer, &ctx.device);
        let samples = run.dir.path("samples.txt");
        let texts = write_samples(&samples, &best, tokenizer, config, ctx.seed, device)?;
        let line = texts.first().map_or("", String::as_str);
        save_attention(
            &run.dir.path("attention.png"),
            &best,
            tokenizer,
            line,
            device,
        )?;
        let train_chars = fitted.epochs_run() * config.tokens_per_epoch();
        let metrics = [
            ("test_nll", test.nll_per_token),
            // bits per character: nats / ln 2
            ("test_bpc", test.nll_per_token / std::f64::consts::LN_2),
            ("test_accuracy", test.accuracy),
            ("train_chars", train_chars as f64),
        ];
        run.finish(&fitted.summary(), parameters, &metrics, &ARTIFACTS)
    }
}

impl Command for TeenyGpt {
    type Config = LlmConfig;
    type Samples = TextSamples;

    fn name(&self) -> &'static str {
        MODEL
    }

    fn train(&self, config: &LlmConfig, ctx: &RunContext) -> Result<Report> {
        self.train_on(config, &Corpus::load(config.context)?, ctx)
    }

    /// Reloads the best checkpoint and writes `n` texts at temperature 0.8 and top-k 10 to
    /// `--text` (default: `samples-seed<seed>.txt` in the run directory).
    fn sample(&self, ctx: &RunContext, request: &TextSamples) -> Result<Vec<PathBuf>> {
        let n = request.count()?;
        let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
        let config: LlmConfig = run.read_config(MODEL)?;
        let tokenizer = Corpus::load(config.context)?.tokenizer;
        let model = run.load_checkpoint(teeny_gpt(&config, &tokenizer, &ctx.device))?;
        let mut rng = StdRng::seed_from_u64(ctx.seed);
        let device = &ctx.device;
        let texts = sample_texts(
            &model,
            &tokenizer,
            &config,
            n,
            SAMPLE_VERB,
            &mut rng,
            device,
        );
        let path = request
            .text
            .clone()
            .unwrap_or_else(|| run.path(&format!("samples-seed{}.txt", ctx.seed)));
        std::fs::write(&path, texts.join("\n\n===\n\n"))?;
        Ok(vec![path])
    }

    /// Times epochs of `steps_per_epoch` steps and the sampling of one text.
    fn bench(&self, config: &LlmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let corpus = Corpus::load(config.context)?;
        let mut trainer = trainer(config, ctx);
        let model = teeny_gpt(config, &corpus.tokenizer, trainer.device());
        let steps = Some(config.steps_per_epoch);
        time_passes(
            ctx,
            passes,
            model,
            |model, pass| Ok(sequence_epoch(&mut trainer, model, &corpus.train, pass, steps)?.0),
            |model| {
                let mut rng = StdRng::seed_from_u64(ctx.seed);
                let (tokenizer, device) = (&corpus.tokenizer, &ctx.device);
                let first = config.sampling[0];
                sample_texts(
                    &model.valid(),
                    tokenizer,
                    config,
                    1,
                    first,
                    &mut rng,
                    device,
                );
            },
        )
    }
}
