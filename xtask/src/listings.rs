//! Numbered listings: every code block of the book that includes a file is followed by its
//! caption, numbered through its chapter in the order of `SUMMARY.md`,
//!
//! ```text
//! <figcaption id="listing-4-2">Listing 4.2: the ELBO, <code>crates/ch04_vae/src/vae.rs</code></figcaption>
//! ```
//!
//! The description is the author's; the number, the id (a link target, `#listing-4-2`) and the
//! path are derived, so `cargo xtask book` fails when they drift and `cargo xtask book --fix`
//! rewrites them. Pages that are not chapters (the introduction) are chapter 0.

use std::path::{Component, Path, PathBuf};

use crate::lint::{chapter_number, summary_pages};

/// What numbering the listings of a book found, and the pages with their captions put right.
pub struct Listings {
    /// "page:line: ..." for every caption that is not what it should be.
    pub problems: Vec<String>,
    /// Whether every problem is one `--fix` can mend (a wrong number, id or path).
    pub fixable: bool,
    /// Every page whose captions `--fix` would change, with its new text.
    pub fixed: Vec<(PathBuf, String)>,
    /// How many listings the book has.
    pub count: usize,
}

/// Checks the captions of every listing of the book in `src`.
pub fn check(src: &Path) -> anyhow::Result<Listings> {
    let root = normalise(&src.join("../.."));
    let mut listings = Listings {
        problems: Vec::new(),
        fixable: true,
        fixed: Vec::new(),
        count: 0,
    };
    let mut chapter = None;
    let mut number = 0;
    for page in summary_pages(src)? {
        let this_chapter = chapter_number(&page).unwrap_or(0);
        if chapter != Some(this_chapter) {
            chapter = Some(this_chapter);
            number = 0;
        }
        // A page SUMMARY.md links but that is missing is reported by the book check.
        let Ok(text) = std::fs::read_to_string(&page) else {
            continue;
        };
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut changed = false;
        for (block_end, include) in listing_blocks(&text) {
            number += 1;
            listings.count += 1;
            let file = include.split(':').next().unwrap_or(include);
            let shown = normalise(&page.parent().unwrap_or(src).join(file));
            let shown = shown.strip_prefix(&root).unwrap_or(&shown);
            let caption_line = block_end + 1;
            let found = lines.get(caption_line).map_or("", String::as_str);
            let indent = &found[..found.len() - found.trim_start().len()];
            let at = format!("{}:{}", page.display(), caption_line + 1);
            let Some(description) = description(found) else {
                listings.problems.push(format!(
                    "{at}: listing {this_chapter}.{number} ({include}) needs a caption \
                     `<figcaption>Listing {this_chapter}.{number}: what it shows, <code>{}</code></figcaption>`",
                    shown.display()
                ));
                listings.fixable = false;
                continue;
            };
            let expected = format!(
                "{indent}<figcaption id=\"listing-{this_chapter}-{number}\">Listing {this_chapter}.{number}: \
                 {description}, <code>{}</code></figcaption>",
                shown.display()
            );
            if found != expected {
                listings
                    .problems
                    .push(format!("{at}: the caption should read {}", expected.trim()));
                lines[caption_line] = expected;
                changed = true;
            }
        }
        if changed {
            let mut new = lines.join("\n");
            if text.ends_with('\n') {
                new.push('\n');
            }
            listings.fixed.push((page, new));
        }
    }
    Ok(listings)
}

/// The closing-fence line (0-based) and include of every Rust code block that includes a file.
fn listing_blocks(text: &str) -> Vec<(usize, &str)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, Option<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        match &mut open {
            None if trimmed.starts_with("```rust") => open = Some((i, None)),
            None => {}
            Some((_, include)) if trimmed.starts_with("```") => {
                if let Some(include) = include {
                    blocks.push((i, *include));
                }
                open = None;
            }
            Some((_, include)) => {
                let inner = ["{{#include ", "{{#rustdoc_include "]
                    .iter()
                    .find_map(|p| trimmed.strip_prefix(p))
                    .and_then(|rest| rest.strip_suffix("}}"));
                if let Some(inner) = inner {
                    *include = Some(inner.trim());
                }
            }
        }
    }
    blocks
}

/// The author's description in a caption line, if the line is a caption that has one.
fn description(line: &str) -> Option<&str> {
    let inner = line.trim().strip_prefix("<figcaption")?;
    let inner = inner.split_once('>')?.1.strip_suffix("</figcaption>")?;
    let (_, rest) = inner.strip_prefix("Listing ")?.split_once(": ")?;
    let (description, _) = rest.rsplit_once(", <code>")?;
    (!description.trim().is_empty()).then_some(description.trim())
}

/// A path with its `.` and `..` taken out, without asking the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(test: &str, pages: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("listings-{test}-{}", std::process::id()));
        let src = root.join("book/src");
        std::fs::create_dir_all(&src).unwrap();
        let mut summary = String::from("# Summary\n\n");
        for (name, text) in pages {
            summary.push_str(&format!("- [{name}]({name})\n"));
            std::fs::write(src.join(name), text).unwrap();
        }
        std::fs::write(src.join("SUMMARY.md"), summary).unwrap();
        src
    }

    const BLOCK: &str = "```rust,ignore\n{{#include ../../crates/ch04_vae/src/vae.rs:elbo}}\n```\n";

    #[test]
    fn captions_are_numbered_through_the_chapter_and_its_sub_pages() {
        let good_first = format!(
            "{BLOCK}<figcaption id=\"listing-4-1\">Listing 4.1: the ELBO, <code>crates/ch04_vae/src/vae.rs</code></figcaption>\n"
        );
        let stale_second = format!(
            "text\n\n  {BLOCK}  <figcaption>Listing 4.7: the encoder, <code>old/path.rs</code></figcaption>\n"
        )
        .replace("\n```\n", "\n  ```\n");
        let src = book(
            "numbers",
            &[
                ("ch04_vae.md", &good_first),
                ("ch04_priors.md", &stale_second),
            ],
        );
        let listings = check(&src).unwrap();
        let fixed = listings.fixed.clone();
        std::fs::remove_dir_all(src.join("../..")).unwrap();
        assert_eq!(listings.count, 2);
        assert_eq!(listings.problems.len(), 1, "{:?}", listings.problems);
        assert!(listings.fixable);
        assert_eq!(fixed.len(), 1);
        assert!(
            fixed[0].1.contains(
                "  <figcaption id=\"listing-4-2\">Listing 4.2: the encoder, <code>crates/ch04_vae/src/vae.rs</code></figcaption>\n"
            ),
            "{}",
            fixed[0].1
        );
    }

    #[test]
    fn a_caption_without_a_description_cannot_be_fixed() {
        let bare = format!("{BLOCK}<figcaption>crates/ch04_vae/src/vae.rs</figcaption>\n");
        let src = book("bare", &[("introduction.md", &bare)]);
        let listings = check(&src).unwrap();
        std::fs::remove_dir_all(src.join("../..")).unwrap();
        assert!(!listings.fixable);
        assert!(
            listings.problems[0].contains("listing 0.1"),
            "{:?}",
            listings.problems
        );
    }

    #[test]
    fn code_blocks_without_includes_are_not_listings() {
        let text = "```rust,ignore\nlet x = 1;\n```\n```sh\n{{#include run.sh}}\n```\n";
        assert!(listing_blocks(text).is_empty());
    }
}
