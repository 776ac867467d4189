//! Result numbers in prose that cannot go stale.
//!
//! A number that a page or a README states from a blessed run carries a marker right after it,
//! naming the run and the quantity:
//!
//! ```text
//! this run reaches 96.68<!-- ch04_vae/vae test_neg_elbo --> nats after 123<!-- ch04_vae/vae epochs -->
//! epochs, in 18.0 s<!-- ch04_vae/vae wall_time --> of wall time
//! ```
//!
//! The marker is an HTML comment, so a reader never sees it. `cargo xtask book` fails when a
//! marked number, at the decimals it is printed with, is not the blessed run's value
//! (`book/src/generated/<crate>/<model>/summary.txt`), and `cargo xtask bless` rewrites every
//! marked number from the runs it has just blessed. A percentage is marked with a key ending in
//! `%` (`75.3%<!-- ch02_arm/transformer validity% -->`: the share times 100). The quantities are
//! the report's metrics and `epochs`, `best_epoch`, `val_first`, `val_best`, `s_per_epoch`,
//! `parameters` and `wall_time` (the wall time as the summary prints it: `18.0 s`, `2 min 10 s`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

/// One marked number: where it stands and what it claims to be.
#[derive(Clone, Debug, PartialEq)]
struct Marked {
    /// Byte range of the printed number (or duration) in the file's text; `None` when no number
    /// stands right before the marker.
    range: Option<std::ops::Range<usize>>,
    /// Where the marker starts.
    at: usize,
    /// The run, as `<crate>/<model>`.
    run: String,
    /// The quantity, as named in the module doc.
    key: String,
}

/// The files whose numbers are checked: the book's pages and every README.
pub fn prose_files(book_src: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![PathBuf::from("README.md")];
    for dir in [book_src.to_path_buf(), PathBuf::from("crates")] {
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if path.is_dir() && name != "generated" && name != "katex" && name != "target" {
                    stack.push(path);
                } else if name.ends_with(".md") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every marked number of `files` that is not its blessed value, as "file:line: what is wrong".
pub fn check(files: &[PathBuf], generated: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for file in marked_files(files, generated) {
        let file = file?;
        for (mark, blessed) in &file.marks {
            let line = file.text[..mark.at].lines().count().max(1);
            let Some(range) = mark.range.clone() else {
                problems.push(format!(
                    "{}:{line}: the marker of `{}` of `{}` follows no number (or duration) it can \
                     read",
                    file.path.display(),
                    mark.key,
                    mark.run
                ));
                continue;
            };
            let printed = &file.text[range];
            match blessed {
                None => problems.push(format!(
                    "{}:{line}: `{}` of `{}` is not in the blessed summary ({})",
                    file.path.display(),
                    mark.key,
                    mark.run,
                    generated.join(&mark.run).join("summary.txt").display()
                )),
                Some(expected) if expected != printed => problems.push(format!(
                    "{}:{line}: says {printed} for `{}` of `{}`, the blessed run has \
                     {expected} (`cargo xtask bless` rewrites marked numbers)",
                    file.path.display(),
                    mark.key,
                    mark.run
                )),
                Some(_) => {}
            }
        }
    }
    Ok(problems)
}

/// Rewrites every marked number of `files` from the blessed summaries; returns the files changed.
pub fn rewrite(files: &[PathBuf], generated: &Path) -> Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    for file in marked_files(files, generated) {
        let file = file?;
        let mut out = String::with_capacity(file.text.len());
        let mut at = 0;
        for (mark, blessed) in &file.marks {
            // A number the blessed summary lacks stays as it is.
            let (Some(range), Some(blessed)) = (&mark.range, blessed) else {
                continue;
            };
            out.push_str(&file.text[at..range.start]);
            out.push_str(blessed);
            at = range.end;
        }
        out.push_str(&file.text[at..]);
        if out != file.text {
            std::fs::write(file.path, out)?;
            changed.push(file.path.clone());
        }
    }
    Ok(changed)
}

/// A prose file, read, with the blessed text of each of its marked numbers.
struct MarkedFile<'a> {
    path: &'a PathBuf,
    text: String,
    /// Each marker with the number as its blessed run prints it, at the decimals of the number
    /// before the marker; `None` when no number stands there or the blessed summary lacks it.
    marks: Vec<(Marked, Option<String>)>,
}

/// Reads `files` one at a time, as the caller goes through them, with the blessed summaries under
/// `generated`.
fn marked_files<'a>(
    files: &'a [PathBuf],
    generated: &'a Path,
) -> impl Iterator<Item = Result<MarkedFile<'a>>> {
    let mut blessed = Blessed::new(generated);
    files.iter().map(move |path| {
        let text = std::fs::read_to_string(path)?;
        let mut found = Vec::new();
        for mark in marks(&text) {
            let expected = match &mark.range {
                None => None,
                Some(range) => blessed
                    .value(&mark.run, &mark.key)?
                    .map(|value| format_like(&text[range.clone()], &value, &mark.key)),
            };
            found.push((mark, expected));
        }
        Ok(MarkedFile {
            path,
            text,
            marks: found,
        })
    })
}

/// A blessed value: a number, or the wall time as printed.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    Duration(String),
}

/// `value` printed as `printed` is: with as many decimals, or the duration as the summary
/// prints it.
fn format_like(printed: &str, value: &Value, key: &str) -> String {
    match value {
        Value::Duration(text) => text.clone(),
        Value::Number(v) => {
            let v = if key.ends_with('%') { v * 100.0 } else { *v };
            let decimals = printed.split_once('.').map_or(0, |(_, d)| d.len());
            format!("{v:.decimals$}")
        }
    }
}

/// The markers of a text and the number (or duration) right before each.
fn marks(text: &str) -> Vec<Marked> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("<!-- ") {
        let Some(len) = text[start..].find(" -->") else {
            continue;
        };
        let inside = &text[start + 5..start + len];
        let Some((run, key)) = inside.split_once(' ') else {
            continue;
        };
        if !run.contains('/') || key.contains(' ') || !run.starts_with("ch") {
            continue;
        }
        let before = &text[..start];
        let before = before.strip_suffix('%').unwrap_or(before);
        let printed_start = if key == "wall_time" {
            duration_start(before)
        } else {
            number_start(before)
        };
        found.push(Marked {
            range: printed_start.map(|begin| begin..before.len()),
            at: start,
            run: run.to_string(),
            key: key.to_string(),
        });
    }
    found
}

/// Where a number (`-57.08`, `123`, `0.753`) that ends the text begins.
fn number_start(text: &str) -> Option<usize> {
    let digits = text.len()
        - text
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
            .len();
    if digits == 0 || text.ends_with('.') {
        return None;
    }
    let begin = text.len() - digits;
    Some(if text[..begin].ends_with('-') {
        begin - 1
    } else {
        begin
    })
}

/// Where a duration as the summary prints it (`18.0 s`, `2 min 10 s`, `1 h 05 min`) that ends the
/// text begins. The words may be split by any white space, a line break included.
fn duration_start(text: &str) -> Option<usize> {
    let is_number = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.');
    if text.ends_with(char::is_whitespace) {
        return None;
    }
    // The last four words, last first, each with where it starts.
    let mut words = Vec::new();
    let mut end = text.len();
    while words.len() < 4 {
        let trimmed = text[..end].trim_end();
        if trimmed.is_empty() {
            break;
        }
        let start = trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        words.push((start, &trimmed[start..]));
        end = start;
    }
    let word = |i: usize| words.get(i).map(|&(_, w)| w);
    match (word(0), word(1), word(2), word(3)) {
        (Some("min"), Some(m), Some("h"), Some(h)) | (Some("s"), Some(m), Some("min"), Some(h))
            if is_number(m) && is_number(h) =>
        {
            Some(words[3].0)
        }
        (Some("s"), Some(seconds), ..) if is_number(seconds) => Some(words[1].0),
        _ => None,
    }
}

/// The blessed summaries, read once each.
struct Blessed<'a> {
    generated: &'a Path,
    runs: BTreeMap<String, Option<BTreeMap<String, Value>>>,
}

impl<'a> Blessed<'a> {
    fn new(generated: &'a Path) -> Blessed<'a> {
        Blessed {
            generated,
            runs: BTreeMap::new(),
        }
    }

    fn value(&mut self, run: &str, key: &str) -> Result<Option<Value>> {
        if !self.runs.contains_key(run) {
            let path = self.generated.join(run).join("summary.txt");
            let values = match std::fs::read_to_string(&path) {
                Ok(text) => Some(parse_summary(&text)),
                Err(_) => None,
            };
            self.runs.insert(run.to_string(), values);
        }
        let key = key.trim_end_matches('%');
        Ok(self.runs[run]
            .as_ref()
            .and_then(|values| values.get(key).cloned()))
    }
}

/// The quantities of a summary (`Report::summary` of dgm_core): metric lines `key value`, then
/// the epochs line, the time per epoch, the wall time and the parameters.
pub fn parse_summary(text: &str) -> BTreeMap<String, Value> {
    let mut values = BTreeMap::new();
    let number = |s: &str| s.trim().parse::<f64>().ok().map(Value::Number);
    for line in text.lines().skip(1) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("epochs") {
            // "123 (best 101, val_neg_elbo 123.902 -> 100.811)"
            let words: Vec<&str> = rest
                .split(|c: char| c.is_whitespace() || "(),".contains(c))
                .filter(|w| !w.is_empty())
                .collect();
            if let [epochs, "best", best, _, first, "->", last] = words[..] {
                for (key, word) in [
                    ("epochs", epochs),
                    ("best_epoch", best),
                    ("val_first", first),
                    ("val_best", last),
                ] {
                    if let Some(v) = number(word) {
                        values.insert(key.to_string(), v);
                    }
                }
            }
        } else if let Some(rest) = line.strip_prefix("time per epoch") {
            if let Some(v) = number(rest.trim().trim_end_matches("s (training pass only)")) {
                values.insert("s_per_epoch".into(), v);
            }
        } else if let Some(rest) = line.strip_prefix("wall time") {
            values.insert("wall_time".into(), Value::Duration(rest.trim().to_string()));
        } else if let Some((key, value)) = line.split_once(char::is_whitespace)
            && let Some(v) = number(value)
        {
            values.insert(key.to_string(), v);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a blessed summary of `run` under `dir`.
    fn write_summary(dir: &Path, run: &str, text: &str) {
        let path = dir.join(run);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("summary.txt"), text).unwrap();
    }

    /// A place for a test's files.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-results-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A place for a test's files (see [`scratch`]) with the blessed summary of `ch04_vae/vae`
    /// and a page `page.md` of `text`; returns the place and the page.
    fn scratch_page(name: &str, text: &str) -> (PathBuf, PathBuf) {
        let dir = scratch(name);
        write_summary(&dir, "ch04_vae/vae", SUMMARY);
        let page = dir.join("page.md");
        std::fs::write(&page, text).unwrap();
        (dir, page)
    }

    /// What the summaries of the tests say.
    const SUMMARY: &str = "ch04_vae vae (full mode, flex backend, 2 threads, seed 0)
      sample_fd         12.0798
      test_neg_elbo     96.6796
      validity          0.7534
      epochs            123 (best 101, val_neg_elbo 123.902 -> 100.811)
      time per epoch    0.078 s (training pass only)
      wall time         2 min 10 s
      parameters        440416
      outputs           runs/ch04_vae/vae/full/ {summary.txt}
    ";

    #[test]
    fn the_summary_gives_every_quantity() {
        let values = parse_summary(SUMMARY);
        assert_eq!(values["test_neg_elbo"], Value::Number(96.6796));
        assert_eq!(values["epochs"], Value::Number(123.0));
        assert_eq!(values["best_epoch"], Value::Number(101.0));
        assert_eq!(values["val_best"], Value::Number(100.811));
        assert_eq!(values["s_per_epoch"], Value::Number(0.078));
        assert_eq!(values["parameters"], Value::Number(440416.0));
        assert_eq!(values["wall_time"], Value::Duration("2 min 10 s".into()));
    }

    #[test]
    fn a_stale_number_fails_and_bless_rewrites_it() {
        let (dir, page) = scratch_page(
            "stale",
            "reaches 96.68<!-- ch04_vae/vae test_neg_elbo --> nats after \
             123<!-- ch04_vae/vae epochs --> epochs, in 15.6 s<!-- ch04_vae/vae wall_time -->; \
             75.3%<!-- ch04_vae/vae validity% --> valid, FD 12.1<!-- ch04_vae/vae sample_fd -->",
        );
        let files = vec![page.clone()];
        let problems = check(&files, &dir).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("says 15.6 s for `wall_time`"),
            "{problems:?}"
        );
        assert!(problems[0].contains("has 2 min 10 s"), "{problems:?}");

        assert_eq!(rewrite(&files, &dir).unwrap(), files);
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(
            text.contains("in 2 min 10 s<!-- ch04_vae/vae wall_time -->"),
            "{text}"
        );
        assert!(text.contains("96.68<!--"), "{text}");
        assert!(check(&files, &dir).unwrap().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_marker_of_a_run_or_quantity_not_blessed_fails() {
        let (dir, page) = scratch_page(
            "missing",
            "1.0<!-- ch04_vae/vae test_nll --> and 2<!-- ch09_ebm/ebm epochs -->",
        );
        let problems = check(std::slice::from_ref(&page), &dir).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .all(|p| p.contains("not in the blessed summary"))
        );
        // A marker after words, not a number, is not passed over.
        std::fs::write(&page, "in about a minute<!-- ch04_vae/vae wall_time -->").unwrap();
        let problems = check(&[page], &dir).unwrap();
        assert!(problems[0].contains("follows no number"), "{problems:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn negative_numbers_and_plain_comments() {
        let text = "NLL -57.08<!-- ch01_mog/mog test_nll --> nats <!-- a comment -->";
        let found = marks(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].range.clone().unwrap()], "-57.08");
        assert_eq!(duration_start("took 1 h 05 min"), Some(5));
        assert_eq!(duration_start("in 35.2 s"), Some(3));
        // A line break inside or before a duration is white space like any other.
        assert_eq!(duration_start("in\n2 min\n42 s"), Some(3));
        assert_eq!(duration_start("18.0 s"), Some(0));
        assert_eq!(duration_start("in 42 sec"), None);
    }
}
