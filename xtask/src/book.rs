//! `cargo xtask book`: the book's sources are checked (mdBook only warns), the book is built when
//! mdbook is installed, and every built page is opened in headless Chromium when it is present.
//!
//! The sources: no control characters in the repository's `.md` and `.rs` files; every
//! `{{#include path:anchor}}` resolves, and names an anchor where its file has anchors; chapter
//! pages have the common sections; no math that Markdown breaks ([`crate::lint`]); listings are
//! numbered and captioned ([`crate::listings`]); every marked result number in the pages and the
//! READMEs is its blessed run's ([`crate::results`]). The built book: [`crate::browser`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::browser::{self, Outcome};
use crate::{gallery, likelihoods, lint, listings, only_known, results, run_inherited};

#[derive(Default)]
pub struct Options {
    /// Rewrite the listings' numbers, ids and paths and the gallery instead of failing on them.
    pub fix: bool,
    /// Build the book but do not open it in Chromium.
    pub no_browser: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        only_known("book", args, &[], &["--fix", "--no-browser"])?;
        Ok(Options {
            fix: args.iter().any(|a| a == "--fix"),
            no_browser: args.iter().any(|a| a == "--no-browser"),
        })
    }
}

/// Checks the sources, builds the book and looks at it. Ok(false) when something is wrong.
pub fn book(options: &Options) -> Result<bool> {
    let src = Path::new("book/src");
    let mut problems = Vec::new();
    // First, so that the checks below read the gallery --fix writes.
    problems.extend(check_generated_page(
        src,
        "gallery.md",
        "book/src/generated/",
        gallery::render,
        options.fix,
    )?);
    problems.extend(check_generated_page(
        src,
        "generated/likelihoods.md",
        "the blessed summaries",
        likelihoods::render,
        options.fix,
    )?);
    problems.extend(lint::control_characters(&lint::repository_sources()?)?);
    problems.extend(check_includes(src)?);
    for page in lint::summary_pages(src)? {
        let Ok(text) = std::fs::read_to_string(&page) else {
            problems.push(format!(
                "SUMMARY.md links {}, which cannot be read",
                page.display()
            ));
            continue;
        };
        if lint::chapter_number(&page).is_some() {
            problems.extend(lint::section_names(&page, &text));
        }
        problems.extend(lint::math(&page, &text));
    }
    problems.extend(results::check(
        &results::prose_files(src)?,
        &src.join("generated"),
    )?);
    let listings = listings::check(src)?;
    if options.fix {
        for (page, text) in &listings.fixed {
            std::fs::write(page, text)?;
            println!("book: renumbered the listings of {}", page.display());
        }
        problems.extend(
            listings
                .problems
                .into_iter()
                .filter(|p| p.contains("needs a caption")),
        );
    } else if !listings.problems.is_empty() {
        problems.extend(listings.problems);
        if listings.fixable {
            problems.push("`cargo xtask book --fix` numbers the listings again".into());
        }
    }
    for p in &problems {
        eprintln!("book: {p}");
    }
    if !problems.is_empty() {
        return Ok(false);
    }
    println!(
        "book: sources clean, every include resolves, {} listings numbered",
        listings.count
    );

    if Command::new("mdbook").arg("--version").output().is_err() {
        println!("book: mdbook is not installed, so the book was checked but not built");
        return Ok(true);
    }
    run_inherited("mdbook", &["build", "book"])?;
    if options.no_browser {
        println!("book: browser check skipped: --no-browser");
        return Ok(true);
    }
    let start = Instant::now();
    match browser::check(Path::new("book/book"), Path::new("runs/book"))? {
        // CI installs Chromium (.ci/run), so there a skipped check is a failure to set up.
        Outcome::Skipped(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            eprintln!("book: the browser check cannot run in CI: {why}");
            Ok(false)
        }
        Outcome::Skipped(why) => {
            println!("book: browser check skipped: {why}");
            Ok(true)
        }
        Outcome::Checked(pages) => {
            let failed: Vec<&String> = pages
                .iter()
                .filter_map(|(page, problems)| (!problems.is_empty()).then_some(page))
                .collect();
            let seconds = start.elapsed().as_secs_f64();
            if failed.is_empty() {
                println!(
                    "book: all {} pages render in Chromium from file:// without a network \
                     ({seconds:.1} s; screenshots in runs/book/)",
                    pages.len()
                );
            } else {
                eprintln!(
                    "book: pages that do not read right in Chromium (screenshots in runs/book/): {}",
                    failed
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(failed.is_empty())
        }
    }
}

/// Checks a page that `cargo xtask bless` generates from `made_from`: `page` (under `src`) must
/// be what `render` makes now. Under `--fix` (`fix`) a stale page is rewritten; otherwise the
/// problem is returned.
fn check_generated_page(
    src: &Path,
    page: &str,
    made_from: &str,
    render: fn(&Path) -> Result<String>,
    fix: bool,
) -> Result<Option<String>> {
    let path = src.join(page);
    let rendered = render(src)?;
    if std::fs::read_to_string(&path).ok().as_deref() == Some(rendered.as_str()) {
        return Ok(None);
    }
    if fix {
        std::fs::write(&path, rendered)?;
        println!("book: rewrote {} from {made_from}", path.display());
        return Ok(None);
    }
    Ok(Some(format!(
        "{} is not what `cargo xtask bless` writes from {made_from} (`cargo xtask book --fix` \
         rewrites it)",
        path.display()
    )))
}

/// Every unresolved include under `src`, as "file.md: what is wrong".
pub fn check_includes(src: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for page in markdown_files(src)? {
        let text = std::fs::read_to_string(&page)?;
        for include in includes(&text) {
            let (file, anchor) = match include.split_once(':') {
                Some((f, a)) => (f, Some(a)),
                None => (include, None),
            };
            let target = page.parent().unwrap_or(src).join(file);
            let Ok(content) = std::fs::read_to_string(&target) else {
                problems.push(format!("{}: missing file {file}", page.display()));
                continue;
            };
            let has_anchors = content.contains("ANCHOR:");
            if anchor.is_none() && has_anchors {
                problems.push(format!(
                    "{}: includes the whole of {file}, which has anchors: name the item's anchor",
                    page.display()
                ));
            }
            // Line ranges (`file:10:20`) are not anchors.
            if let Some(anchor) = anchor.filter(|a| !a.starts_with(|c: char| c.is_ascii_digit())) {
                let has = content
                    .lines()
                    .any(|l| l.split("ANCHOR:").nth(1).map(str::trim) == Some(anchor))
                    && content
                        .lines()
                        .any(|l| l.split("ANCHOR_END:").nth(1).map(str::trim) == Some(anchor));
                if !has {
                    problems.push(format!(
                        "{}: no anchor `{anchor}` in {file}",
                        page.display()
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// The `path[:anchor]` of every `{{#include ...}}` in a page.
fn includes(text: &str) -> Vec<&str> {
    text.split("{{#include ")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(inner, _)| inner.trim()))
        .collect()
}

fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(markdown_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_includes_with_and_without_anchors() {
        let text = "a {{#include ../x.rs:model}} b {{#include y.rs}}";
        assert_eq!(includes(text), ["../x.rs:model", "y.rs"]);
    }

    #[test]
    fn reports_missing_files_and_anchors() {
        let dir = std::env::temp_dir().join(format!("book-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("code.rs"),
            "// ANCHOR: here\nfn f() {}\n// ANCHOR_END: here\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("page.md"),
            "{{#include code.rs:here}} {{#include code.rs:gone}} {{#include nope.rs}} \
             {{#include code.rs}}",
        )
        .unwrap();
        let problems = check_includes(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("no anchor `gone`"));
        assert!(problems[1].contains("missing file nope.rs"));
        assert!(problems[2].contains("which has anchors"));
    }

    #[test]
    fn the_repository_book_resolves() {
        std::env::set_current_dir(crate::workspace_root()).unwrap();
        assert_eq!(
            check_includes(Path::new("book/src")).unwrap(),
            Vec::<String>::new()
        );
    }
}
