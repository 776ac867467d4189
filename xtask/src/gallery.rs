//! The gallery page (`book/src/gallery.md`): every blessed model's samples, one figure each with
//! its score, linked to the page that tells its story. `cargo xtask bless` writes it after copying
//! the runs, from what it copied into `book/src/generated/` alone, so the page never shows a model
//! that is not blessed and never needs a run to be rewritten.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::expect;

/// The names the chapters give their samples, in the order they are looked for: the picture of
/// sampled digits (or the two-moons panels), then the text a language model wrote.
const SAMPLE_FILES: [&str; 4] = ["samples.png", "moons.png", "samples.txt", "molecules.txt"];

/// The numbers a figure shows: the sample scores where a model has them, else its test numbers.
fn scores(metrics: &[(String, String)]) -> Vec<&(String, String)> {
    let sample: Vec<_> = ["sample_fd", "sample_confidence"]
        .iter()
        .filter_map(|key| metrics.iter().find(|(k, _)| k == key))
        .collect();
    if !sample.is_empty() {
        return sample;
    }
    metrics
        .iter()
        .filter(|(k, _)| k.starts_with("test_") || k == "validity")
        .collect()
}

/// One blessed model as the gallery shows it.
struct Entry {
    chapter: String,
    model: String,
    /// The samples' file name inside `generated/<chapter>/<model>/`.
    samples: String,
    /// (metric, value) as `results.md` gives them.
    metrics: Vec<(String, String)>,
    /// The page that shows the model's results, and its title.
    page: Option<(String, String)>,
}

/// Writes `gallery.md` in `src`.
pub fn write(src: &Path) -> Result<()> {
    std::fs::write(src.join("gallery.md"), render(src)?)?;
    Ok(())
}

/// The gallery page from `src/generated/`, in the order of the chapters' `expect.toml`.
pub fn render(src: &Path) -> Result<String> {
    let pages = pages(src)?;
    let mut entries = Vec::new();
    for chapter in expect::chapters(None)? {
        for model in &chapter.expect.models {
            let dir = src.join("generated").join(&chapter.name).join(&model.name);
            let Some(samples) = SAMPLE_FILES.iter().find(|f| dir.join(f).is_file()) else {
                continue;
            };
            let results = std::fs::read_to_string(dir.join("results.md"))
                .with_context(|| format!("{} has samples but no results.md", dir.display()))?;
            let shown = format!("generated/{}/{}/", chapter.name, model.name);
            entries.push(Entry {
                chapter: chapter.name.clone(),
                model: model.name.clone(),
                samples: samples.to_string(),
                metrics: metrics(&results),
                page: pages
                    .iter()
                    .find(|(_, _, text)| text.contains(&shown))
                    .map(|(file, title, _)| (file.clone(), title.clone())),
            });
        }
    }
    page(&entries)
}

/// Every page of the book (file name, first heading, text) but the gallery itself.
fn pages(src: &Path) -> Result<Vec<(String, String, String)>> {
    let mut pages = Vec::new();
    for page in crate::lint::summary_pages(src)? {
        let file = page
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        if file == "gallery.md" {
            continue;
        }
        let text = std::fs::read_to_string(&page)
            .with_context(|| format!("cannot read {}", page.display()))?;
        let title = text
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or(&file)
            .trim()
            .to_string();
        pages.push((file, title, text));
    }
    Ok(pages)
}

/// The `| `metric` | value |` rows of a `results.md` written by `cargo xtask bless`.
fn metrics(results: &str) -> Vec<(String, String)> {
    results
        .lines()
        .filter_map(|line| {
            let mut cells = line.trim().trim_matches('|').split('|').map(str::trim);
            let key = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((key.to_string(), cells.next()?.to_string()))
        })
        .collect()
}

fn page(entries: &[Entry]) -> Result<String> {
    let mut md = String::from(
        "# Gallery\n\n\
         <!-- Written by `cargo xtask bless` from book/src/generated/; do not edit. -->\n\n\
         Every blessed model's samples (full runs, seed 0), in the order of the chapters, each with \
         its score and a link to the page that explains it. The digit models' `sample_fd` and \
         `sample_confidence` are the scores of the [introduction](introduction.md#how-samples-are-scored): \
         the real validation digits reach 8.4, uniform noise 240.5; lower is better.\n\n",
    );
    md.push_str(
        "<style>\n\
         .gallery-item { display: inline-block; width: 31%; margin: 0 1% 1.5em 0; vertical-align: top; }\n\
         .gallery-item img { width: 100%; }\n\
         .gallery-item.text { width: 100%; }\n\
         .gallery-item figcaption { font-size: 0.9em; }\n\
         </style>\n\n<div class=\"gallery\">\n\n",
    );
    for e in entries {
        let path = PathBuf::from("generated")
            .join(&e.chapter)
            .join(&e.model)
            .join(&e.samples);
        let path = path.to_string_lossy();
        let score = scores(&e.metrics)
            .iter()
            .map(|(k, v)| format!("<code>{k}</code> {}", short(v)))
            .collect::<Vec<_>>()
            .join(", ");
        let link = match &e.page {
            Some((file, title)) => {
                format!("<a href=\"{}\">{title}</a>", file.replace(".md", ".html"))
            }
            None => e.chapter.clone(),
        };
        let picture = e.samples.ends_with(".png");
        let class = if picture {
            "gallery-item"
        } else {
            "gallery-item text"
        };
        writeln!(md, "<figure class=\"{class}\">")?;
        if picture {
            writeln!(md, "<img src=\"{path}\" alt=\"samples of {}\">", e.model)?;
        } else {
            // The first lines of a text model's samples, as it wrote them.
            writeln!(md, "\n```text\n{{{{#include {path}:1:12}}}}\n```\n")?;
        }
        writeln!(
            md,
            "<figcaption><code>{}</code>: {score}<br>{link}</figcaption>\n</figure>\n",
            e.model
        )?;
    }
    md.push_str("</div>\n");
    Ok(md)
}

/// A value of `results.md` with at most three significant decimals, as the pages quote them.
fn short(value: &str) -> String {
    match value.parse::<f64>() {
        Ok(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Ok(v) => format!("{v:.3}"),
        Err(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_tables_give_their_metrics() {
        let results = "| quantity | value |\n|---|---|\n| `sample_confidence` | 0.9 |\n\
                       | `sample_fd` | 12.034 |\n| `test_nll` | 86.1 |\n| epochs (best) | 70 (49) |\n";
        let metrics = metrics(results);
        assert_eq!(metrics.len(), 3);
        let shown: Vec<_> = scores(&metrics)
            .into_iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(shown, ["sample_fd", "sample_confidence"]);
        let text_model = [
            ("test_bpc".to_string(), "3.9".to_string()),
            ("train_chars".into(), "1".into()),
        ];
        assert_eq!(scores(&text_model).len(), 1);
        assert_eq!(short("12.034"), "12.0");
        assert_eq!(short("0.8834"), "0.883");
    }

    #[test]
    fn a_figure_links_its_page_and_shows_its_score() {
        let entry = Entry {
            chapter: "ch10_gan".into(),
            model: "gan".into(),
            samples: "samples.png".into(),
            metrics: vec![("sample_fd".into(), "12.034".into())],
            page: Some(("ch10_gan.md".into(), "Chapter 10: GANs".into())),
        };
        let md = page(&[entry]).unwrap();
        assert!(
            md.contains("<img src=\"generated/ch10_gan/gan/samples.png\""),
            "{md}"
        );
        assert!(
            md.contains(
                "<code>sample_fd</code> 12.0<br><a href=\"ch10_gan.html\">Chapter 10: GANs</a>"
            ),
            "{md}"
        );
    }

    #[test]
    fn the_repository_gallery_is_what_bless_writes() {
        std::env::set_current_dir(crate::workspace_root()).unwrap();
        let written = std::fs::read_to_string("book/src/gallery.md").unwrap();
        assert_eq!(
            render(Path::new("book/src")).unwrap(),
            written,
            "run `cargo xtask book --fix`"
        );
        assert!(written.contains("generated/ch04_vae/vae/samples.png"));
    }
}
