//! The browser check of `cargo xtask book`: every page of the built book opened from `file://` in
//! headless Chromium with the network off, by `xtask/browser/check-pages.mjs` (Node.js and the
//! npm package playwright-core, pinned in `xtask/browser/package-lock.json` and installed with
//! `npm ci` the first time). The script says what a page fails on; this module finds Chromium,
//! installs the script's dependency, runs it and reads its report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// What the browser check found.
pub enum Outcome {
    /// Every page, with its problems (none for a page that looks right).
    Checked(BTreeMap<String, Vec<String>>),
    /// The check could not run here, and why.
    Skipped(String),
}

/// Chromium's executable: `$CHROMIUM` when set, else `chromium` or `chromium-browser` on the path.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("chromium"), dir.join("chromium-browser")])
        .find(|p| p.is_file())
}

/// Opens every page of the built book in `built`, saving screenshots and `report.json` in `shots`.
pub fn check(built: &Path, shots: &Path) -> Result<Outcome> {
    let Some(chromium) = chromium() else {
        return Ok(Outcome::Skipped(
            "chromium not found (apt-get install chromium, or set CHROMIUM)".into(),
        ));
    };
    if Command::new("node").arg("--version").output().is_err() {
        return Ok(Outcome::Skipped("node not found".into()));
    }
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    install_dependencies(&script_dir)?;
    std::fs::create_dir_all(shots)?;
    let report = shots.join("report.json");
    let _ = std::fs::remove_file(&report);
    let status = Command::new("node")
        .arg(script_dir.join("check-pages.mjs"))
        .args([built, shots, &report])
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .status()
        .context("cannot start node")?;
    // 0: every page passed, 1: some page has a problem; anything else: the check itself broke.
    if !matches!(status.code(), Some(0 | 1)) {
        bail!("the browser check failed to run ({status})");
    }
    let text = std::fs::read_to_string(&report)
        .with_context(|| format!("the browser check wrote no {}", report.display()))?;
    let pages = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a page report", report.display()))?;
    Ok(Outcome::Checked(pages))
}

/// `npm ci` in the script's folder unless its one package is already there.
fn install_dependencies(dir: &Path) -> Result<()> {
    if dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Ok(());
    }
    println!("$ npm ci (in {})", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()
        .context("cannot start npm")?;
    if !status.success() {
        bail!("npm ci in {} failed ({status})", dir.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! A small book with one defect per page, built with the repository's own configuration and
    //! KaTeX, shows each defect failing its page. The test needs mdbook, node and Chromium, which
    //! CI installs; elsewhere, where one is missing, it says so and passes.

    use super::*;

    /// A page of the fixture book and the problem it must be failed for ("" for none).
    const PAGES: [(&str, &str, &str); 9] = [
        (
            "good.md",
            "# Good\n\nInline \\\\(p(x) = \\int p(x \\mid z) \\\\, p(z) \\mathrm{d}z\\\\) and\n\n\
             \\\\[\n\\mathbb{E}\\_q[\\ln p(x, z) - \\ln q(z)]\n\\\\]\n\n\
             ![grid](samples.png)\n\n<audio controls src=\"tone.wav\"></audio>\n",
            "",
        ),
        (
            "broken-formula.md",
            "# Broken\n\nA fraction never closed: \\\\(\\frac{1}{\\\\).\n",
            "unrendered TeX",
        ),
        (
            "missing-image.md",
            "# Missing\n\n![grid](generated/none.png)\n",
            "image does not load: generated/none.png",
        ),
        (
            "control-character.md",
            "# Control\n\n\\\\(\\lVert x \\\\) b\u{8}ig\n",
            "control characters in the text: U+0008",
        ),
        (
            "outside-request.md",
            "# Outside\n\n![remote](https://example.invalid/grid.png)\n",
            "requested outside the book: https://example.invalid/grid.png",
        ),
        (
            "emphasis.md",
            "# Emphasis\n\n\\\\[\n\\mathbb{E}_q[\\ln p(x, z_{1:T})]\n\\\\]\n",
            "unrendered TeX",
        ),
        (
            "curly-quote.md",
            "# Quote\n\nThe gradient at \\\\(x'\\\\).\n",
            "smart punctuation inside the formula",
        ),
        (
            "missing-sound.md",
            "# Sound\n\n<audio controls src=\"none.wav\"></audio>\n",
            "sound does not load",
        ),
        (
            "console-error.md",
            "# Script\n\n<script>console.error(\"boom\")</script>\n",
            "console error: boom",
        ),
    ];

    #[test]
    fn each_defect_fails_its_page_in_chromium() {
        let missing: Vec<&str> = [
            (
                "mdbook",
                Command::new("mdbook").arg("--version").output().is_ok(),
            ),
            (
                "node",
                Command::new("node").arg("--version").output().is_ok(),
            ),
            ("chromium", chromium().is_some()),
        ]
        .into_iter()
        .filter_map(|(tool, found)| (!found).then_some(tool))
        .collect();
        if !missing.is_empty() {
            // .ci/run installs all three, so CI never skips.
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} not found in CI",
                missing.join(", ")
            );
            eprintln!("skipped: {} not found", missing.join(", "));
            return;
        }
        let root = std::env::temp_dir().join(format!("browser-check-{}", std::process::id()));
        let book = fixture_book(&root);
        let built = root.join("built");
        let status = Command::new("mdbook")
            .args(["build", "--dest-dir"])
            .args([&built, &book])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let Outcome::Checked(pages) = check(&built, &root.join("shots")).unwrap() else {
            panic!("the check did not run");
        };
        std::fs::remove_dir_all(&root).unwrap();
        for (file, _, expected) in PAGES {
            let html = file.replace(".md", ".html");
            let problems = &pages[&html];
            if expected.is_empty() {
                assert!(problems.is_empty(), "{html}: {problems:?}");
            } else {
                assert!(
                    problems.iter().any(|p| p.contains(expected)),
                    "{html} should fail for `{expected}`: {problems:?}"
                );
            }
        }
    }

    /// The repository book's configuration and KaTeX with the test pages, an image and a sound.
    fn fixture_book(root: &Path) -> PathBuf {
        let repo = crate::workspace_root().join("book");
        let book = root.join("book");
        let src = book.join("src");
        std::fs::create_dir_all(src.join("katex/fonts")).unwrap();
        std::fs::create_dir_all(book.join("theme")).unwrap();
        for file in ["book.toml", "theme/head.hbs", "src/render-math.js"] {
            std::fs::copy(repo.join(file), book.join(file)).unwrap();
        }
        for entry in walk(&repo.join("src/katex")) {
            let relative = entry.strip_prefix(&repo).unwrap();
            std::fs::copy(&entry, book.join(relative)).unwrap();
        }
        let grid = repo.join("src/generated/ch10_gan/gan/samples.png");
        std::fs::copy(grid, src.join("samples.png")).unwrap();
        std::fs::write(src.join("tone.wav"), wav_tone()).unwrap();
        let mut summary = String::from("# Summary\n\n");
        for (file, text, _) in PAGES {
            summary.push_str(&format!("- [{file}]({file})\n"));
            std::fs::write(src.join(file), text).unwrap();
        }
        std::fs::write(src.join("SUMMARY.md"), summary).unwrap();
        book
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .flat_map(|entry| {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    vec![path]
                }
            })
            .collect()
    }

    /// A tenth of a second of a 440 Hz tone as a 16-bit mono WAV file at 8 kHz.
    fn wav_tone() -> Vec<u8> {
        let rate = 8000u32;
        let samples: Vec<i16> = (0..rate / 10)
            .map(|i| {
                let t = f64::from(i) / f64::from(rate);
                (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
            })
            .collect();
        let data_len = (samples.len() * 2) as u32;
        let mut wav = Vec::new();
        wav.extend(b"RIFF");
        wav.extend((36 + data_len).to_le_bytes());
        wav.extend(b"WAVEfmt ");
        wav.extend(16u32.to_le_bytes());
        wav.extend(1u16.to_le_bytes()); // PCM
        wav.extend(1u16.to_le_bytes()); // mono
        wav.extend(rate.to_le_bytes());
        wav.extend((rate * 2).to_le_bytes()); // bytes per second
        wav.extend(2u16.to_le_bytes()); // bytes per frame
        wav.extend(16u16.to_le_bytes()); // bits per sample
        wav.extend(b"data");
        wav.extend(data_len.to_le_bytes());
        for s in samples {
            wav.extend(s.to_le_bytes());
        }
        wav
    }
}
