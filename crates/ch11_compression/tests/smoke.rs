//! Tiny end-to-end runs: a few steps, a report with an exact bitstream round trip, a reload.

use ch11_compression::config::{CompressionConfig, EntropyKind};
use ch11_compression::experiment::CHAPTER;
use ch11_compression::experiment::compressor::CompressionCommand;
use dgm_core::experiment::DigitModel;
use dgm_core::report::Report;
use dgm_core::testing::{assert_digit_samples_written, few_digits, quick_context, tiny_schedule};

#[test]
fn each_entropy_model_trains_codes_and_reloads() {
    for entropy in [EntropyKind::Arm, EntropyKind::Indp, EntropyKind::Uniform] {
        let command = CompressionCommand(entropy);
        let name = command.name();
        let (ctx, dir) = quick_context(&format!("smoke-{name}"), CHAPTER, name, 1);
        let quick = command.config(true);
        let config = CompressionConfig {
            hidden: vec![16, 16],
            schedule: tiny_schedule(quick.schedule),
            ..quick
        };
        let report = command.train(&config, &few_digits(), &ctx).unwrap();
        assert_eq!(Report::read(&dir.join("report.json")).unwrap(), report);
        assert_eq!(report.metrics["bitstream_roundtrip_exact"], 1.0, "{name}");
        for (key, value) in &report.metrics {
            assert!(value.is_finite(), "{name}: {key}");
        }
        for file in report.artifacts.values() {
            assert!(dir.join(file).is_file(), "{name}: {file} was not written");
        }
        assert_digit_samples_written(&command, &ctx, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
