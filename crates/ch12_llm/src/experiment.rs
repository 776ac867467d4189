//! One run of the teeny GPT from start to report, and the verbs that reuse its checkpoint.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;
use dgm_core::cli::ModelCommand;
use dgm_core::data::to_host;
use dgm_core::experiment::{Bench, Run, Trainer, time_passes};
use dgm_core::plot::attention_map;
use dgm_core::report::Report;
use dgm_core::run::{RunContext, RunDir};
use dgm_core::train::{FitSettings, fit};
use dgm_core::transformer::{DecoderTransformer, Generation, Sampling, evaluate, generate};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::LlmConfig;
use crate::text::{CharTokenizer, Corpus};

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

/// Characters of a sampled line shown in the attention picture.
const ATTENDED_CHARS: usize = 40;
/// Windows per evaluation batch.
const EVAL_BATCH: usize = 32;

/// AdamW with PyTorch's epsilon (1e-8) and the config's weight decay.
fn adamw(config: &LlmConfig) -> ModuleOptimizer {
    AdamWConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(config.weight_decay as f32)
        .init()
}

/// `n` texts grown from the start token to a full window.
pub fn sample_texts(
    model: &DecoderTransformer,
    tokenizer: &CharTokenizer,
    config: &LlmConfig,
    n: usize,
    sampling: Sampling,
    rng: &mut StdRng,
    device: &Device,
) -> Vec<String> {
    let how = Generation {
        start: tokenizer.start(),
        end: None,
        length: config.context + 1,
        sampling,
    };
    let rows = generate(model, n, &how, rng, device);
    rows.iter().map(|row| tokenizer.decode(row)).collect()
}

/// How a sampling setting is written in the samples file.
fn describe(sampling: &Sampling) -> String {
    match sampling.top_k {
        Some(k) => format!("temperature {}, top-k {k}", sampling.temperature),
        None => format!("temperature {}, all tokens", sampling.temperature),
    }
}

/// Writes `samples.txt`: `samples` texts for each sampling setting. Returns the texts of the
/// last setting.
fn write_samples(
    path: &Path,
    model: &DecoderTransformer,
    tokenizer: &CharTokenizer,
    config: &LlmConfig,
    seed: u64,
    device: &Device,
) -> Result<Vec<String>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut file, mut last) = (String::new(), Vec::new());
    for sampling in &config.sampling {
        last = sample_texts(
            model,
            tokenizer,
            config,
            config.samples,
            *sampling,
            &mut rng,
            device,
        );
        for text in &last {
            writeln!(file, "=== {} ===\n{text}\n", describe(sampling))?;
        }
    }
    std::fs::write(path, file)?;
    Ok(last)
}

// ANCHOR: attention_picture
/// Draws the attention of head 0 of the last block over the start token and the first
/// characters of `text`.
fn save_attention(
    path: &Path,
    model: &DecoderTransformer,
    tokenizer: &CharTokenizer,
    text: &str,
    device: &Device,
) -> Result<()> {
    let shown: String = text.chars().take(ATTENDED_CHARS).collect();
    let mut ids = vec![tokenizer.start()];
    ids.extend(tokenizer.encode(&shown)?);
    let n = ids.len();
    let ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
    let tokens = Tensor::from_data(TensorData::new(ids, [1, n]), device);
    let (_, weights) = model.forward_with_attention(tokens);
    let last = weights.last().expect("at least one block");
    // head 0 of the only sequence: [1, H, n, n] -> [1, 1, n, n]
    let head = to_host(last.clone().slice([0..1, 0..1, 0..n, 0..n]));
    let labels: Vec<String> = std::iter::once("^".to_string())
        .chain(shown.chars().map(|c| match c {
            ' ' => "␣".to_string(),
            '\n' => "↵".to_string(),
            c => c.to_string(),
        }))
        .collect();
    let title = format!(
        "block {} of {}, head 1: row t = where position t looks (^ = start)",
        weights.len(),
        weights.len()
    );
    attention_map(path, &head, &labels, &title)
}
// ANCHOR_END: attention_picture

/// Trains on the token budget with early stopping on the validation NLL per character, scores
/// the best model on the test split, writes samples and the attention picture.
pub fn train_and_report(config: &LlmConfig, corpus: &Corpus, ctx: &RunContext) -> Result<Report> {
    let run = Run::start(ctx, config)?;
    let mut trainer = Trainer::new(adamw(config), config.learning_rate, config.batch_size, ctx);
    let vocabulary = corpus.tokenizer.vocabulary();
    let model = DecoderTransformer::new(&config.decoder(vocabulary), trainer.device());
    let parameters = model.num_params();
    let settings = FitSettings {
        max_epochs: config.max_epochs,
        patience: config.patience,
        val_name: "val_nll_per_char",
    };
    let steps = Some(config.steps_per_epoch);
    let fitted = fit(
        model,
        &settings,
        &run.dir,
        |model, epoch| trainer.sequence_epoch(model, &corpus.train, epoch, steps),
        |model| evaluate(&model.valid(), &corpus.val, EVAL_BATCH, &ctx.device).nll_per_token,
    )?;

    let best = fitted.best_model.valid();
    let test = evaluate(&best, &corpus.test, EVAL_BATCH, &ctx.device);
    let samples_path = run.dir.path("samples.txt");
    let texts = write_samples(
        &samples_path,
        &best,
        &corpus.tokenizer,
        config,
        ctx.seed,
        &ctx.device,
    )?;
    let line = texts.first().map_or("", String::as_str);
    save_attention(
        &run.dir.path("attention.png"),
        &best,
        &corpus.tokenizer,
        line,
        &ctx.device,
    )?;
    let metrics = [
        ("test_nll", test.nll_per_token),
        // bits per character: nats / ln 2
        ("test_bpc", test.nll_per_token / std::f64::consts::LN_2),
        ("test_accuracy", test.accuracy),
        (
            "train_chars",
            (fitted.epochs_run() * config.tokens_per_epoch()) as f64,
        ),
    ];
    run.finish(ctx, &fitted, parameters, config, &metrics, &ARTIFACTS)
}

/// The teeny GPT on the command line.
pub struct TeenyGpt;

impl ModelCommand for TeenyGpt {
    const MODEL: &'static str = MODEL;
    type Config = LlmConfig;

    fn train(config: &LlmConfig, ctx: &RunContext) -> Result<Report> {
        train_and_report(config, &Corpus::load(config.context)?, ctx)
    }

    /// Reloads the best checkpoint and writes `n` texts at temperature 0.8 and top-k 10 to
    /// `picture` (default: `samples-seed<seed>.txt` in the run directory).
    fn sample(
        ctx: &RunContext,
        n: usize,
        picture: Option<PathBuf>,
        samples_out: Option<&Path>,
    ) -> Result<PathBuf> {
        if samples_out.is_some() {
            bail!("the samples are text: name the output file with --grid, not --samples-out");
        }
        let run = RunDir::open(&ctx.out_dir, &ctx.train_command())?;
        let config: LlmConfig = run.read_config(MODEL)?;
        let tokenizer = Corpus::load(config.context)?.tokenizer;
        let decoder = config.decoder(tokenizer.vocabulary());
        let model = run.load_checkpoint(DecoderTransformer::new(&decoder, &ctx.device))?;
        let sampling = Sampling {
            temperature: 0.8,
            top_k: Some(10),
        };
        let mut rng = StdRng::seed_from_u64(ctx.seed);
        let texts = sample_texts(
            &model,
            &tokenizer,
            &config,
            n,
            sampling,
            &mut rng,
            &ctx.device,
        );
        let path = picture.unwrap_or_else(|| run.path(&format!("samples-seed{}.txt", ctx.seed)));
        std::fs::write(&path, texts.join("\n\n===\n\n"))?;
        Ok(path)
    }

    /// Times epochs of `steps_per_epoch` steps and the sampling of one text.
    fn bench(config: &LlmConfig, ctx: &RunContext, passes: usize) -> Result<Bench> {
        let corpus = Corpus::load(config.context)?;
        let mut trainer = Trainer::new(adamw(config), config.learning_rate, config.batch_size, ctx);
        let decoder = config.decoder(corpus.tokenizer.vocabulary());
        let model = DecoderTransformer::new(&decoder, trainer.device());
        let steps = Some(config.steps_per_epoch);
        time_passes(
            ctx,
            passes,
            model,
            |model, pass| Ok(trainer.sequence_epoch(model, &corpus.train, pass, steps)?.0),
            |model| {
                let mut rng = StdRng::seed_from_u64(ctx.seed);
                let greedy = config.sampling[0];
                sample_texts(
                    &model.valid(),
                    &corpus.tokenizer,
                    config,
                    1,
                    greedy,
                    &mut rng,
                    &ctx.device,
                );
            },
        )
    }
}
