//! Tiny end-to-end runs: a few steps, a report with an exact bitstream round trip, a reload.

use ch11_compression::config::{CompressionConfig, EntropyKind};
use ch11_compression::experiment::{Arm, CHAPTER, CompressionCommand, train_and_report};
use dgm_core::cli::{ModelCommand, Preset};
use dgm_core::report::Report;
use dgm_core::testing::{few_digits, quick_context};

#[test]
fn each_entropy_model_trains_codes_and_reloads() {
    for (entropy, name) in [
        (EntropyKind::Arm, "arm"),
        (EntropyKind::Indp, "indp"),
        (EntropyKind::Uniform, "uniform"),
    ] {
        let (ctx, dir) = quick_context(&format!("smoke-{name}"), CHAPTER, "arm", 1);
        let config = CompressionConfig {
            hidden: vec![16, 16],
            batch_size: 8,
            max_epochs: 2,
            ..CompressionConfig::quick()
        }
        .with_entropy(entropy);
        let report = train_and_report(&config, &few_digits(), &ctx).unwrap();
        assert_eq!(Report::read(&dir.join("report.json")).unwrap(), report);
        assert_eq!(report.metrics["bitstream_roundtrip_exact"], 1.0, "{name}");
        for (key, value) in &report.metrics {
            assert!(value.is_finite(), "{name}: {key}");
        }
        for file in report.artifacts.values() {
            assert!(dir.join(file).is_file(), "{name}: {file} was not written");
        }
        assert!(
            CompressionCommand::<Arm>::sample(&ctx, 3, None, None)
                .unwrap()
                .is_file()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
