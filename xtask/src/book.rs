//! `cargo xtask book`: every `{{#include path:anchor}}` must resolve (mdBook only warns), then
//! the book is built when mdbook is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::run_inherited;

/// Checks includes and builds the book. Ok(false) when an include does not resolve.
pub fn book() -> Result<bool> {
    let problems = check_includes(Path::new("book/src"))?;
    for p in &problems {
        eprintln!("book: {p}");
    }
    if !problems.is_empty() {
        return Ok(false);
    }
    println!("book: every include resolves");
    let has_mdbook = Command::new("mdbook").arg("--version").output().is_ok();
    if has_mdbook {
        run_inherited("mdbook", &["build", "book"])?;
    } else {
        println!("book: mdbook is not installed, so the book was checked but not built");
    }
    Ok(true)
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
            "{{#include code.rs:here}} {{#include code.rs:gone}} {{#include nope.rs}}",
        )
        .unwrap();
        let problems = check_includes(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("no anchor `gone`"));
        assert!(problems[1].contains("missing file nope.rs"));
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
