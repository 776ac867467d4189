//! One likelihood table for every model of the digits (`book/src/generated/likelihoods.md`, shown
//! in the introduction): each blessed test number on one scale, the 17-level discrete digits in
//! nats per image and bits per dimension, with what kind of number it is. `cargo xtask bless`
//! writes it from the blessed summaries alone, and `cargo xtask book` fails when it is not what
//! they give.

use std::f64::consts::LN_2;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::results::{Value, parse_summary};

/// What a blessed number is, on the discrete scale.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// -log p(x) of the discrete digits, computed exactly.
    Exact,
    /// An upper bound on -log p(x): the negative ELBO, or a dequantised density's bound.
    Bound,
    /// The importance-weighted estimate: in expectation a bound that tightens with K.
    Estimate,
    /// A continuous density on the [-1, 1] scale moved to the discrete scale by the volume of a
    /// pixel's bin, (2/17)^64: as if the density were flat inside each bin. Not a bound.
    Converted,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Exact => "exact",
            Kind::Bound => "bound",
            Kind::Estimate => "estimate",
            Kind::Converted => "converted",
        }
    }
}

/// Per row: the blessed run, its metric, and what kind of number it is.
const ROWS: [(&str, &str, Kind); 17] = [
    ("ch02_arm/causal-conv", "test_nll", Kind::Exact),
    ("ch03_flows/idf", "test_nll", Kind::Exact),
    ("ch03_flows/idf-data-init", "test_nll", Kind::Exact),
    ("ch08_hybrid/hybrid", "test_nll", Kind::Exact),
    ("ch04_vae/vae", "test_nll_iw", Kind::Estimate),
    ("ch05_hvae/hvae", "test_nll_iw", Kind::Estimate),
    ("ch04_vae/priors-mog", "test_nll_iw", Kind::Estimate),
    ("ch04_vae/priors-flow", "test_nll_iw", Kind::Estimate),
    ("ch04_vae/priors-standard", "test_nll_iw", Kind::Estimate),
    ("ch04_vae/priors-vampprior", "test_nll_iw", Kind::Estimate),
    ("ch04_vae/vae", "test_neg_elbo", Kind::Bound),
    ("ch05_hvae/hvae", "test_neg_elbo", Kind::Bound),
    ("ch03_flows/realnvp", "test_nll_discrete_bound", Kind::Bound),
    ("ch07_score/fm", "test_nll_ode", Kind::Converted),
    ("ch07_score/sbgm", "test_nll_ode", Kind::Converted),
    ("ch06_diffusion/ddgm", "test_neg_elbo", Kind::Converted),
    ("ch01_mog/mog-learned-weights", "test_nll", Kind::Converted),
];

/// Pixels of a digit.
const D: f64 = 64.0;

/// The nats that move a continuous density of `run` to the discrete scale: -64 ln(bin width),
/// the bins 2/17 wide on [-1, 1] and 1/17 wide on chapter 1's x / 17 scale.
fn bin_offset(run: &str) -> f64 {
    let width: f64 = if run.starts_with("ch01_mog") {
        1.0 / 17.0
    } else {
        2.0 / 17.0
    };
    -D * width.ln()
}

/// Writes `generated/likelihoods.md` in `src`.
pub fn write(src: &Path) -> Result<()> {
    std::fs::write(src.join("generated/likelihoods.md"), render(src)?)?;
    Ok(())
}

/// The table from the blessed summaries in `src/generated/`, best first within each kind.
pub fn render(src: &Path) -> Result<String> {
    let mut rows = Vec::new();
    for (run, key, kind) in ROWS {
        let Ok(text) = std::fs::read_to_string(src.join("generated").join(run).join("summary.txt"))
        else {
            continue;
        };
        let Some(Value::Number(value)) = parse_summary(&text).remove(key) else {
            continue;
        };
        let nats = if kind == Kind::Converted {
            value + bin_offset(run)
        } else {
            value
        };
        rows.push((kind, nats, run, key));
    }
    // Exact first, then bounds, estimates and conversions; lowest first within each.
    let order = |k: Kind| {
        [Kind::Exact, Kind::Bound, Kind::Estimate, Kind::Converted]
            .iter()
            .position(|&x| x == k)
    };
    rows.sort_by(|a, b| order(a.0).cmp(&order(b.0)).then(a.1.total_cmp(&b.1)));
    let mut table = String::from(
        "| model | test NLL (nats per image) | bits per dimension | kind | from |\n|---|---|---|---|---|\n",
    );
    for (kind, nats, run, key) in rows {
        let (chapter, model) = run.split_once('/').unwrap_or((run, ""));
        writeln!(
            table,
            "| [`{model}`]({chapter}.md) | {nats:.2} | {:.3} | {} | `{key}` |",
            nats / (D * LN_2),
            kind.name()
        )?;
    }
    // 64 ln 17, and each pixel's own categorical fitted to the training split
    // (`dgm_core::metrics::independent_pixel_nll`, whose test gives this value).
    for (name, nats) in [
        ("every pixel uniform over the 17 levels", D * 17f64.ln()),
        ("independent pixels (chapter 4)", 106.37),
    ] {
        writeln!(
            table,
            "| {name} | {nats:.2} | {:.3} | baseline | |",
            nats / (D * LN_2)
        )?;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_continuous_density_moves_to_the_discrete_scale_by_the_bin_volume() {
        // FM's -3.895 nats on [-1, 1] is 2.9997 bits per dimension in its own report.
        let nats = -3.8950 + bin_offset("ch07_score/fm");
        assert!((nats / (D * LN_2) - 2.9997).abs() < 1e-4, "{nats}");
    }

    #[test]
    fn the_repository_table_is_what_bless_writes() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src");
        let written = std::fs::read_to_string(src.join("generated/likelihoods.md")).unwrap();
        std::env::set_current_dir(src.join("../..")).unwrap();
        assert_eq!(written, render(Path::new("book/src")).unwrap());
    }
}
