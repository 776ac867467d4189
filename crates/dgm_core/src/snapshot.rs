//! What a run needs to continue after an interruption: `snapshot.bin`.
//!
//! A snapshot holds the training state after the last finished epoch: how many epochs are done,
//! whether training has ended, the loop's own progress (the early stopping and the learning
//! curve, as JSON) and named binary parts (the last model, the best model, the optimiser states,
//! in burn's burnpack format). It is written to a temporary file, synced and renamed over the
//! old one, so a kill at any moment leaves either the old snapshot or the new one, never half
//! of one.
//!
//! The file is a header line, one line of JSON that names the parts and their lengths, then the
//! parts' bytes one after the other.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The first line of every snapshot file.
const MAGIC: &[u8] = b"dgm-snapshot 1\n";

/// The training state of a run after its last finished epoch.
#[derive(Debug)]
pub struct Snapshot {
    header: Header,
    parts: Vec<Vec<u8>>,
}

/// The JSON line after the magic line.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    epochs_done: usize,
    finished: bool,
    progress: serde_json::Value,
    /// Name and length in bytes of every part, in file order.
    parts: Vec<(String, usize)>,
}

impl Snapshot {
    /// The state after `epochs_done` epochs, `finished` when no epoch is left to run, with the
    /// loop's `progress` (anything serialisable).
    pub fn new(epochs_done: usize, finished: bool, progress: &impl Serialize) -> Result<Snapshot> {
        Ok(Snapshot {
            header: Header {
                epochs_done,
                finished,
                progress: serde_json::to_value(progress)?,
                parts: Vec::new(),
            },
            parts: Vec::new(),
        })
    }

    /// Epochs finished before the snapshot was taken.
    pub fn epochs_done(&self) -> usize {
        self.header.epochs_done
    }

    /// Whether training had ended (early stop or last epoch).
    pub fn finished(&self) -> bool {
        self.header.finished
    }

    /// The loop's progress, read back as `T`.
    pub fn progress<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.header.progress.clone())
            .context("the snapshot's progress does not belong to this training loop")
    }

    /// Adds the bytes `bytes` under `name`.
    pub fn with_part(mut self, name: &str, bytes: Vec<u8>) -> Snapshot {
        self.header.parts.push((name.into(), bytes.len()));
        self.parts.push(bytes);
        self
    }

    /// Adds a module's parameters and buffers under `name`.
    pub fn with_module<M: Module + Clone>(self, name: &str, module: &M) -> Result<Snapshot> {
        Ok(self.with_part(name, module_bytes(module)?))
    }

    /// Adds an optimiser's state under `name`.
    pub fn with_optimizer(self, name: &str, optimizer: &ModuleOptimizer) -> Result<Snapshot> {
        let bytes = optimizer
            .into_bytes()
            .map_err(|e| anyhow::anyhow!("cannot record the optimiser {name}: {e}"))?;
        Ok(self.with_part(name, bytes.to_vec()))
    }

    /// The bytes saved under `name`.
    pub fn part(&self, name: &str) -> Result<&[u8]> {
        self.header
            .parts
            .iter()
            .position(|(part, _)| part == name)
            .map(|i| self.parts[i].as_slice())
            .with_context(|| format!("the snapshot holds no part `{name}`"))
    }

    /// `module` (built from the run's config) with the values saved under `name`.
    pub fn module<M: Module>(&self, name: &str, module: M) -> Result<M> {
        load_module(self.part(name)?, module)
            .with_context(|| format!("the snapshot's `{name}` does not fit this model"))
    }

    /// `optimizer` with the state saved under `name`.
    pub fn optimizer(&self, name: &str, optimizer: ModuleOptimizer) -> Result<ModuleOptimizer> {
        let bytes = Bytes::from_bytes_vec(self.part(name)?.to_vec());
        optimizer
            .from_bytes(bytes)
            .map_err(|e| anyhow::anyhow!("the snapshot's optimiser `{name}` cannot be read: {e}"))
    }

    /// Writes the snapshot to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut bytes = MAGIC.to_vec();
        serde_json::to_writer(&mut bytes, &self.header)?;
        bytes.push(b'\n');
        for part in &self.parts {
            bytes.extend_from_slice(part);
        }
        write_atomically(path, &bytes)
    }

    /// Reads the snapshot at `path`, refusing a file that is not one or is cut short.
    pub fn load(path: &Path) -> Result<Snapshot> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Snapshot::parse(&bytes)
            .with_context(|| format!("{} is not a whole snapshot", path.display()))
    }

    /// The snapshot at `path`, or `None` when there is none.
    pub fn load_if_saved(path: &Path) -> Result<Option<Snapshot>> {
        if path.is_file() {
            Snapshot::load(path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn parse(bytes: &[u8]) -> Result<Snapshot> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .context("it does not start with the snapshot header")?;
        let newline = rest
            .iter()
            .position(|&b| b == b'\n')
            .context("its header line is not ended")?;
        let header: Header = serde_json::from_slice(&rest[..newline])?;
        let mut data = &rest[newline + 1..];
        let mut parts = Vec::with_capacity(header.parts.len());
        for (name, len) in &header.parts {
            ensure!(data.len() >= *len, "the part `{name}` is cut short");
            let (part, tail) = data.split_at(*len);
            parts.push(part.to_vec());
            data = tail;
        }
        ensure!(data.is_empty(), "{} bytes follow the last part", data.len());
        Ok(Snapshot { header, parts })
    }
}

/// A module's parameters and buffers as burnpack bytes.
pub fn module_bytes<M: Module + Clone>(module: &M) -> Result<Vec<u8>> {
    let bytes = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("cannot record the model: {e}"))?;
    Ok(bytes.to_vec())
}

/// `module` with the values of burnpack `bytes` loaded into it.
pub fn load_module<M: Module>(bytes: &[u8], module: M) -> Result<M> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    module
        .try_load_record(record)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Writes `bytes` to `path` through `path.partial`: written, synced to disk, then renamed over
/// `path`, so that a reader finds the old file or the new one and never a part of either.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut partial = PathBuf::from(path).into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let mut file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("cannot move {} to {}", partial.display(), path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_snapshot_reads_back_and_a_cut_one_is_refused() {
        let file = format!("dgm-core-snapshot-{}.bin", std::process::id());
        let path = std::env::temp_dir().join(file);
        Snapshot::new(3, false, &vec![1.5, 2.5])
            .unwrap()
            .with_part("a", vec![1, 2, 3])
            .with_part("b", vec![])
            .with_part("c", vec![9; 10])
            .save(&path)
            .unwrap();
        let back = Snapshot::load(&path).unwrap();
        assert_eq!(back.epochs_done(), 3);
        assert!(!back.finished());
        assert_eq!(back.progress::<Vec<f64>>().unwrap(), [1.5, 2.5]);
        assert_eq!(back.part("a").unwrap(), [1, 2, 3]);
        assert_eq!(back.part("b").unwrap(), [0u8; 0]);
        assert_eq!(back.part("c").unwrap(), [9; 10]);
        assert!(back.part("d").is_err());

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let err = Snapshot::load(&path).unwrap_err();
        assert!(format!("{err:#}").contains("cut short"), "{err:#}");
        std::fs::write(&path, b"not a snapshot").unwrap();
        assert!(Snapshot::load(&path).is_err());
        std::fs::remove_file(path).unwrap();
    }
}
