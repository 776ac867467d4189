//! The source lint of `cargo xtask book`: what a reader would see broken, caught in the sources.
//!
//! - no control characters (other than `\n` and `\t`) in any `.md` or `.rs` file of the repository;
//! - every chapter page has the common sections, in the common order;
//! - no math that Markdown breaks before KaTeX sees it: a single-backslash `\(` (Markdown turns it
//!   into a plain parenthesis), a backslash before punctuation inside a formula (`\,` reaches
//!   KaTeX as a comma), `'` inside a formula (a curly quote), or a line of a displayed formula that
//!   starts with `-`, `+` or `*` (a list item).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The sections every chapter page has, in this order (others may stand between them).
pub const CHAPTER_SECTIONS: [&str; 6] = [
    "The idea",
    "Running it",
    "What you should see",
    "Tests",
    "Porting notes",
    "Exercises",
];

/// The repository's `.md` and `.rs` files, tracked or new, without what git ignores.
pub fn repository_sources() -> Result<Vec<PathBuf>> {
    let out = Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .output()
        .context("cannot run git ls-files")?;
    if !out.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .filter(|f| f.ends_with(".md") || f.ends_with(".rs"))
        .map(PathBuf::from)
        .filter(|f| f.is_file())
        .collect())
}

/// "file:line: control character U+000D" for every control character in the files.
pub fn control_characters(files: &[PathBuf]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for file in files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.split('\n').enumerate() {
            for c in line.chars().filter(|&c| is_control(c)) {
                problems.push(format!(
                    "{}:{}: control character U+{:04X}",
                    file.display(),
                    i + 1,
                    c as u32
                ));
            }
        }
    }
    Ok(problems)
}

fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{FFFD}'
}

/// The chapter pages of a book: the pages `SUMMARY.md` links whose file name starts with `ch`.
pub fn summary_pages(src: &Path) -> Result<Vec<PathBuf>> {
    let summary = std::fs::read_to_string(src.join("SUMMARY.md"))
        .with_context(|| format!("cannot read {}", src.join("SUMMARY.md").display()))?;
    Ok(summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(link, _)| link))
        .filter(|link| link.ends_with(".md"))
        .map(|link| src.join(link))
        .collect())
}

/// Whether a page is a chapter page (`chNN_*.md`), and its chapter number.
pub fn chapter_number(page: &Path) -> Option<u32> {
    let name = page.file_name()?.to_str()?;
    name.strip_prefix("ch")?.get(..2)?.parse().ok()
}

/// "page: sections ..." for a chapter page without the common sections in the common order.
pub fn section_names(page: &Path, text: &str) -> Option<String> {
    let headings: Vec<&str> = prose_lines(text)
        .filter_map(|(_, line)| line.strip_prefix("## "))
        .map(str::trim)
        .filter(|h| CHAPTER_SECTIONS.contains(h))
        .collect();
    (headings != CHAPTER_SECTIONS).then(|| {
        format!(
            "{}: the chapter sections are {:?}, every chapter page has {:?} in this order",
            page.display(),
            headings,
            CHAPTER_SECTIONS
        )
    })
}

/// "page:line: ..." for every formula that Markdown would break.
pub fn math(page: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut report = |line: usize, what: &str| {
        problems.push(format!("{}:{line}: {what}", page.display()));
    };
    // The page's prose with code removed, line by line; a formula can go on over several lines.
    let (mut display, mut inline) = (false, false);
    for (number, line) in prose_lines(text) {
        let line = without_code_spans(line);
        if display && !line.trim_start().starts_with("\\\\]") {
            let first = line.trim_start();
            if ["- ", "+ ", "* "].iter().any(|m| first.starts_with(m))
                || ["-", "+", "*"].contains(&first)
            {
                report(
                    number,
                    "a line of a displayed formula starts with an operator, which Markdown reads \
                     as a list item: end the line before with it",
                );
            }
        }
        let mut rest = line.as_str();
        while !rest.is_empty() {
            let in_math = display || inline;
            // `\\` is one backslash after Markdown: with a bracket it is a math delimiter.
            if let Some(after) = rest.strip_prefix("\\\\") {
                match after.chars().next() {
                    Some('(') if !in_math => inline = true,
                    Some(')') if inline => inline = false,
                    Some('[') if !in_math => display = true,
                    Some(']') if display => display = false,
                    _ => {
                        rest = after;
                        continue;
                    }
                }
                rest = &after[1..];
                continue;
            }
            let mut chars = rest.chars();
            let c = chars.next().unwrap_or_default();
            if c == '\\' {
                let next = chars.clone().next();
                match next {
                    Some('(' | ')' | '[' | ']') if !in_math => report(
                        number,
                        "a single-backslash math delimiter, which Markdown turns into a plain \
                         bracket: write \\\\( ... \\\\) or \\\\[ ... \\\\]",
                    ),
                    Some(p) if in_math && p.is_ascii_punctuation() && !"_*".contains(p) => report(
                        number,
                        &format!(
                            "\\{p} in a formula loses its backslash to Markdown: write \\\\{p}"
                        ),
                    ),
                    _ => {}
                }
                chars.next();
            } else if c == '\'' && in_math {
                report(
                    number,
                    "' in a formula becomes a curly quote: write ^\\prime",
                );
            }
            rest = chars.as_str();
        }
    }
    problems
}

/// The lines of a page outside fenced code blocks, numbered from 1.
pub fn prose_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut fence: Option<String> = None;
    text.lines().enumerate().filter_map(move |(i, line)| {
        let trimmed = line.trim_start();
        let marker: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        if marker.len() >= 3 {
            match &fence {
                None => {
                    fence = Some(marker);
                    return None;
                }
                Some(open) if marker.starts_with(open.as_str()) && trimmed.trim() == marker => {
                    fence = None;
                    return None;
                }
                _ => {}
            }
        }
        fence.is_none().then_some((i + 1, line))
    })
}

/// A line with its `code spans` blanked out.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else {
            out.push(if in_code { ' ' } else { c });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_character_is_found_with_its_line() {
        let dir = std::env::temp_dir().join(format!("lint-control-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("page.md");
        std::fs::write(
            &file,
            "fine\n\\(\\lVert x \\\rVert\\)\ttab is fine\n\u{8}ig\n",
        )
        .unwrap();
        let problems = control_characters(std::slice::from_ref(&file)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].ends_with("page.md:2: control character U+000D"),
            "{problems:?}"
        );
        assert!(
            problems[1].ends_with("page.md:3: control character U+0008"),
            "{problems:?}"
        );
    }

    #[test]
    fn chapter_pages_need_the_common_sections_in_order() {
        let page = Path::new("ch02_arm.md");
        let good = "# Ch\n## The idea\n## Running it\n## Extra\n## What you should see\n## Tests\n\
                    ## Porting notes\n## Speed\n## Exercises\n";
        assert_eq!(section_names(page, good), None);
        let renamed = good.replace("## Tests", "## How we know it is right");
        assert!(
            section_names(page, &renamed)
                .unwrap()
                .contains("\"Porting notes\"")
        );
        let swapped = good
            .replace("## Running it\n", "")
            .replace("## Extra", "## Running it");
        assert_eq!(section_names(page, &swapped), None);
        let late = good.replace("## Running it\n", "") + "## Running it\n";
        assert!(section_names(page, &late).is_some());
        let in_code = good.replace("## Tests", "```sh\n## Tests\n```");
        assert!(section_names(page, &in_code).is_some());
    }

    #[test]
    fn math_that_markdown_breaks_is_found() {
        let page = Path::new("p.md");
        let fine = "a \\\\(x\\_1 \\\\, y\\\\) and `\\(code\\)`\n\\\\[\nx =\n- y\n\\\\]\n";
        let problems = math(page, fine);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("p.md:4: a line of a displayed formula"));
        assert_eq!(math(page, "\\\\[\nx -\ny\n\\\\]\n"), Vec::<String>::new());

        let single = math(page, "as \\(a x\\), the same");
        assert_eq!(single.len(), 2, "{single:?}");
        assert!(single[0].contains("single-backslash"));
        let comma = math(page, "\\\\(a\\,b\\\\)");
        assert!(comma[0].contains("\\, in a formula"), "{comma:?}");
        let quote = math(page, "\\\\[\nE(x')\n\\\\]");
        assert!(quote[0].starts_with("p.md:2: ' in a formula"), "{quote:?}");
        assert_eq!(math(page, "it's \\\\(x\\\\), it's"), Vec::<String>::new());
        assert_eq!(
            math(page, "```rust\nlet c = '\\(';\n```\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn chapter_numbers_come_from_the_file_name() {
        assert_eq!(chapter_number(Path::new("src/ch04_vae.md")), Some(4));
        assert_eq!(chapter_number(Path::new("src/ch12_llm.md")), Some(12));
        assert_eq!(chapter_number(Path::new("src/introduction.md")), None);
    }
}
