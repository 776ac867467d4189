//! The command-line flags every chapter shares.
//!
//! [`Flags`] is flattened into each chapter's clap parser with `global = true`, so the flags
//! work before or after the subcommand: `ch02_arm --quick causal-conv` and
//! `ch02_arm causal-conv --quick` mean the same.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::backend::{self, BackendKind};
use crate::config::Preset;
use crate::data::Digits;
use crate::experiment::{Bench, DigitModel, DigitSamples, bench_digit_model, sample_digit_model};
use crate::interrupt::{self, Interrupted};
use crate::report::Report;
use crate::run::RunContext;

/// Flags shared by all chapters.
#[derive(Args, Clone, Debug)]
pub struct Flags {
    /// The same model with a seconds-long budget: proves the plumbing and that it learns.
    #[arg(long, global = true)]
    pub quick: bool,

    /// Seed for initialisation, shuffling and sampling.
    #[arg(long, global = true, default_value_t = 0)]
    pub seed: u64,

    /// Override the preset's maximum number of epochs.
    #[arg(long, global = true)]
    pub epochs: Option<usize>,

    /// Continue the interrupted run in the output directory from its last finished epoch
    /// (the same flags otherwise).
    #[arg(long, global = true)]
    pub resume: bool,

    /// Compute backend.
    #[arg(long, global = true, value_enum, default_value_t = BackendKind::Flex)]
    pub backend: BackendKind,

    /// CPU threads (0 = one per core).
    #[arg(long, global = true, default_value_t = 0)]
    pub threads: usize,

    /// Output directory (default: runs/<chapter>/<model>/<quick|full>).
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,

    /// Where to write report.json (default: inside the output directory).
    #[arg(long, global = true)]
    pub report: Option<PathBuf>,
}

impl Flags {
    /// "quick" or "full": the name of the preset, used in paths and reports.
    pub fn mode(&self) -> &'static str {
        if self.quick { "quick" } else { "full" }
    }

    /// Sets the thread count, seeds the device and resolves the output paths of a run of
    /// `chapter`'s `model`, selected on the command line by `words`.
    pub fn context(
        &self,
        chapter: &'static str,
        model: &'static str,
        words: String,
    ) -> Result<RunContext> {
        backend::set_threads(self.threads);
        let device = backend::device(self.backend, self.seed)?;
        let out_dir = self.out_dir(chapter, model);
        let report_path = self
            .report
            .clone()
            .unwrap_or_else(|| out_dir.join("report.json"));
        Ok(RunContext {
            chapter,
            model,
            command: words,
            mode: self.mode(),
            seed: self.seed,
            epochs: self.epochs,
            resume: self.resume,
            backend: self.backend,
            device,
            out_dir,
            custom_out: self.out.is_some(),
            report_path,
        })
    }

    /// The output directory of this run of `chapter`/`model`.
    pub fn out_dir(&self, chapter: &str, model: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            PathBuf::from("runs")
                .join(chapter)
                .join(model)
                .join(self.mode())
        })
    }
}

/// What to do with a model: the verbs every chapter's models share. `S` is what the `sample`
/// verb is asked for: [`DigitSamples`] for image models, [`TextSamples`](crate::experiment::TextSamples) for text models.
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum Action<S: Args = DigitSamples> {
    /// Train with early stopping, evaluate, sample, report (the default).
    Train,
    /// Reload the best checkpoint of a finished run and draw new samples.
    Sample(S),
    /// Time training passes and sampling; prints one JSON line.
    Bench {
        /// Timed training passes (after one warm-up pass).
        #[arg(long = "passes", default_value_t = 3)]
        passes: usize,
    },
}

/// What follows a model's name on a chapter's command line: the verb, training when none is
/// given. A chapter's subcommand of a model with no options of its own is `Name(Verb)`.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct Verb<S: Args = DigitSamples> {
    #[command(subcommand)]
    pub action: Option<Action<S>>,
}

/// One of a chapter's models on the command line, as a value: `VaeCommand::Priors(PriorKind::Mog)`
/// is `priors --prior mog`. Every [`DigitModel`] is one; text models and models with a
/// training loop of their own implement it directly.
pub trait Command {
    /// The resolved settings, written to `config.json`.
    type Config: Preset;
    /// What the `sample` verb is asked for.
    type Samples: Args + Send;
    /// The model's name in paths and reports (`causal-conv`, `idf`, `priors-mog`).
    fn name(&self) -> &'static str;
    /// The words after `--` that select it, when they are not its name (`priors --prior mog`).
    fn words(&self) -> String {
        self.name().into()
    }
    /// The settings of a run: the config's quick or full preset, unless the model differs.
    fn config(&self, quick: bool) -> Self::Config {
        Self::Config::preset(quick)
    }
    /// Trains, evaluates, samples and writes the run's outputs.
    fn train(&self, config: &Self::Config, ctx: &RunContext) -> Result<Report>;
    /// Reloads the best checkpoint and writes new samples. Returns the files written.
    fn sample(&self, ctx: &RunContext, request: &Self::Samples) -> Result<Vec<PathBuf>>;
    /// Times training passes and sampling.
    fn bench(&self, config: &Self::Config, ctx: &RunContext, passes: usize) -> Result<Bench>;
}

impl<M: DigitModel> Command for M {
    type Config = M::Config;
    type Samples = DigitSamples;

    fn name(&self) -> &'static str {
        DigitModel::name(self)
    }

    fn words(&self) -> String {
        DigitModel::words(self)
    }

    fn config(&self, quick: bool) -> M::Config {
        DigitModel::config(self, quick)
    }

    fn train(&self, config: &M::Config, ctx: &RunContext) -> Result<Report> {
        DigitModel::train(self, config, &Digits::load()?, ctx)
    }

    fn sample(&self, ctx: &RunContext, request: &DigitSamples) -> Result<Vec<PathBuf>> {
        sample_digit_model(self, ctx, request)
    }

    fn bench(&self, config: &M::Config, ctx: &RunContext, passes: usize) -> Result<Bench> {
        bench_digit_model(self, config, ctx, passes)
    }
}

/// Runs `action` (training by default) of `command`, a model of `chapter`, and prints what it
/// produced: the summary of a run, the files of a reload, or one JSON line of timings.
pub fn execute<C: Command>(
    command: &C,
    args: &Flags,
    chapter: &'static str,
    action: Option<Action<C::Samples>>,
) -> Result<()> {
    let action = checked_action(args, action)?;
    let ctx = args.context(chapter, command.name(), command.words())?;
    let mut config = command.config(args.quick);
    if let Some(epochs) = args.epochs {
        *config.max_epochs() = epochs;
    }
    match action {
        Action::Train => {
            interrupt::install();
            let report = command.train(&config, &ctx).map_err(|e| {
                if e.downcast_ref::<Interrupted>().is_some() {
                    e.context(format!(
                        "training stopped; the last finished epoch is saved (continue with `{} --resume`)",
                        ctx.train_command()
                    ))
                } else {
                    e
                }
            })?;
            println!("\n{}", report.summary(&ctx.out_dir));
        }
        Action::Sample(request) => {
            for path in command.sample(&ctx, &request)? {
                println!("wrote {}", path.display());
            }
        }
        Action::Bench { passes } => {
            let bench = command.bench(&config, &ctx, passes)?;
            println!("{}", serde_json::to_string(&bench)?);
        }
    }
    Ok(())
}

/// The verb to run (training when none is given), refusing settings that cannot run: 0 epochs,
/// 0 timed passes, `--resume` with a verb that does not train.
fn checked_action<S: Args>(args: &Flags, action: Option<Action<S>>) -> Result<Action<S>> {
    anyhow::ensure!(
        args.epochs != Some(0),
        "--epochs must be at least 1: a run of 0 epochs trains nothing"
    );
    let action = action.unwrap_or(Action::Train);
    match action {
        Action::Bench { passes: 0 } => anyhow::bail!("--passes must be at least 1"),
        Action::Sample(_) | Action::Bench { .. } if args.resume => {
            anyhow::bail!("--resume continues a training run; `sample` and `bench` do not train")
        }
        _ => Ok(action),
    }
}

/// The command line of a chapter: the shared flags and one subcommand per model, `M`.
#[derive(Parser, Debug)]
#[command(version)]
struct ChapterCli<M: Subcommand> {
    #[command(flatten)]
    flags: Flags,
    #[command(subcommand)]
    model: Option<M>,
}

/// The `main` of every chapter's binary: parses the command line of `chapter` (`about` is the
/// first line of its help), hands the chosen model (none when the user named none) and the shared
/// flags to `dispatch`, and turns its result into the process's exit.
pub fn main<M: Subcommand + Send>(
    chapter: &'static str,
    about: &'static str,
    dispatch: impl FnOnce(Option<M>, &Flags) -> Result<()> + Send,
) -> ExitCode {
    let command = ChapterCli::<M>::command().name(chapter).about(about);
    let matches = command.get_matches();
    let cli = ChapterCli::<M>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    backend::set_threads(cli.flags.threads);
    let ChapterCli { model, flags } = cli;
    exit_code(backend::on_worker(|| dispatch(model, &flags)))
}

/// The `main` of a chapter with one model: `chapter [<name> [train|sample|bench]]`, where the
/// subcommand is the model's name, described by `help`.
pub fn main_one<C: Command + Sync>(
    chapter: &'static str,
    about: &'static str,
    help: &'static str,
    command: &C,
) -> ExitCode {
    let model =
        Action::<C::Samples>::augment_subcommands(clap::Command::new(command.name())).about(help);
    let cli = Flags::augment_args(clap::Command::new(chapter))
        .version(env!("CARGO_PKG_VERSION"))
        .about(about)
        .subcommand(model);
    let matches = cli.get_matches();
    let parsed = Flags::from_arg_matches(&matches).and_then(|flags| {
        let action = match matches.subcommand() {
            Some((_, model)) if model.subcommand().is_some() => {
                Some(Action::<C::Samples>::from_arg_matches(model)?)
            }
            _ => None,
        };
        Ok((flags, action))
    });
    let (flags, action) = parsed.unwrap_or_else(|e| e.exit());
    backend::set_threads(flags.threads);
    exit_code(backend::on_worker(|| {
        execute(command, &flags, chapter, action)
    }))
}

/// The process's exit: success, or the error's message (with its causes) and a failure code
/// (130 for a run stopped by Ctrl-C), never a panic trace.
pub fn exit_code(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<Interrupted>().is_some() {
                ExitCode::from(interrupt::EXIT_CODE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::TextSamples;

    fn args(epochs: Option<usize>, resume: bool) -> Flags {
        Flags {
            quick: true,
            seed: 0,
            epochs,
            resume,
            backend: BackendKind::Flex,
            threads: 0,
            out: None,
            report: None,
        }
    }

    /// The message of the refusal of `action` under `args`.
    fn refusal(args: &Flags, action: Option<Action<TextSamples>>) -> String {
        checked_action(args, action).unwrap_err().to_string()
    }

    #[test]
    fn settings_that_cannot_run_are_refused_with_a_message() {
        let train = Some(Action::Train);
        let message = refusal(&args(Some(0), false), train.clone());
        assert!(message.contains("--epochs must be at least 1"), "{message}");
        let bench = |passes| Some(Action::Bench { passes });
        let message = refusal(&args(None, false), bench(0));
        assert!(message.contains("--passes must be at least 1"), "{message}");
        let message = refusal(&args(None, true), bench(3));
        assert!(
            message.contains("--resume continues a training run"),
            "{message}"
        );
        let sample = Some(Action::Sample(TextSamples { n: 1, text: None }));
        let message = refusal(&args(None, true), sample);
        assert!(
            message.contains("--resume continues a training run"),
            "{message}"
        );
        assert_eq!(
            checked_action(&args(Some(1), true), train).unwrap(),
            Action::Train
        );
        let none: Option<Action<TextSamples>> = None;
        assert_eq!(
            checked_action(&args(None, false), none).unwrap(),
            Action::Train
        );
    }
}
