//! Ctrl-C during training: stop after the current batch, keep the last finished epoch.
//!
//! The first Ctrl-C (SIGINT) only raises a flag; the batch loop looks at it after every batch
//! and stops with [`Interrupted`]. The run's snapshot of its last finished epoch is on disk
//! already, so nothing is lost and `--resume` continues from there. A second Ctrl-C exits at
//! once.

use std::sync::atomic::{AtomicBool, Ordering};

/// Raised by the first Ctrl-C.
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// The exit code of a run stopped by Ctrl-C (128 + SIGINT, what a shell reports).
pub const EXIT_CODE: u8 = 130;

/// Installs the Ctrl-C handler (once per process; later calls do nothing).
pub fn install() {
    // An error means a handler is installed already (a second run in the same test process).
    let _ = ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            eprintln!("\nstopped at once");
            std::process::exit(EXIT_CODE.into());
        }
        eprintln!("\nstopping after this batch (Ctrl-C again to stop at once)");
    });
}

/// Whether Ctrl-C has been pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The error of a training loop stopped by Ctrl-C during `epoch`.
#[derive(Debug)]
pub struct Interrupted {
    pub epoch: usize,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted during epoch {}", self.epoch)
    }
}

impl std::error::Error for Interrupted {}

/// `Err(Interrupted)` once Ctrl-C has been pressed: what the batch loops call after each batch.
pub fn check(epoch: usize) -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted { epoch })
    } else {
        Ok(())
    }
}
