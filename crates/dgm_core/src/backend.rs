//! Backend selection: which device the tensors live on, how many threads it uses, the seed, and
//! the random stream of each stage of a run.
//!
//! The CPU default is burn-flex (pure Rust, SIMD, rayon threads). burn-ndarray stays selectable
//! behind the `ndarray` feature for comparison; wgpu (any GPU, or a software Vulkan driver on a
//! CPU-only machine) sits behind the `wgpu` feature. The device is always chosen explicitly:
//! once wgpu is compiled in, burn's `Device::default()` would prefer it even without a GPU.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::ValueEnum;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

// Training allocates and frees tensors of tens of megabytes at every step. The system allocator
// of Linux returns blocks that large to the kernel and page-faults them back in at the next step
// (a third of the run time went to the kernel zeroing pages); mimalloc keeps them for reuse.
// Every binary that links dgm_core uses it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tells mimalloc never to hand freed memory back to the kernel.
///
/// By default it does so 10 ms after a free (its `purge_delay`). The teeny GPT's MLP activations
/// are 300 MB tensors freed and allocated again at every step; purged, they return as fresh pages
/// that the kernel zeroes, which took a third of a training step. A delay of -1 never purges: a
/// run keeps its peak memory until it ends.
fn never_purge_freed_memory() {
    // `mi_option_purge_delay` in `enum mi_option_e` of the mimalloc 3 header that
    // libmimalloc-sys builds (it has no Rust name for it).
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is a plain store into mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// The compute backends a run can use (`--backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn-flex: the pure-Rust CPU backend (default).
    Flex,
    /// burn-ndarray: the older CPU backend (cargo feature `ndarray`).
    Ndarray,
    /// wgpu: GPUs through Vulkan, Metal or DirectX (cargo feature `wgpu`).
    Wgpu,
}

impl BackendKind {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

/// Sets the number of CPU threads (0 keeps rayon's default: one per core).
///
/// Must run before the first tensor operation; a second call is ignored, because rayon's global
/// pool can be built only once per process.
pub fn set_threads(threads: usize) {
    if threads > 0 {
        // An error here means the pool already exists (a second run in the same test process).
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
}

/// Runs `f` on one of the pool's threads while the pool's other threads stay awake for the work
/// it splits off; returns what `f` returns.
///
/// A small matrix product split across 2 threads takes tens of microseconds. Called from a
/// thread outside the pool, it hands the work to the pool and sleeps until the pool is done;
/// and a pool thread that found no work for a moment sleeps too, so every split paid for waking
/// a sleeping thread (twice), and two threads trained the small MLPs of this book more slowly
/// than one. Here `f` runs on a pool thread, which works on its share itself, and each other
/// thread runs a [`keep_awake`] loop that takes split-off work the moment it appears. The loop
/// spins only while work keeps coming; after a while without any it sleeps between looks.
pub fn on_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let others = rayon::current_num_threads() - 1;
    let awake = AtomicUsize::new(0);
    let finished = AtomicBool::new(false);
    rayon::scope(|scope| {
        for _ in 0..others {
            scope.spawn(|_| keep_awake(&awake, &finished));
        }
        // Until every other thread runs its loop, `f`'s thread could pick a loop up itself.
        while awake.load(Ordering::Acquire) < others {
            std::hint::spin_loop();
        }
        // Ends the loops when `f` returns or panics.
        let _finish = Finish(&finished);
        f()
    })
}

/// Sets its flag when dropped.
struct Finish<'a>(&'a AtomicBool);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Looks for work of the pool until `finished`: spinning while there is some, sleeping
/// [`DROWSY_SLEEP`] between looks after [`DROWSY_AFTER`] looks without any.
fn keep_awake(awake: &AtomicUsize, finished: &AtomicBool) {
    awake.fetch_add(1, Ordering::Release);
    let mut idle = 0u32;
    while !finished.load(Ordering::Acquire) {
        if let Some(rayon::Yield::Executed) = rayon::yield_now() {
            idle = 0;
        } else if idle < DROWSY_AFTER {
            idle += 1;
            std::hint::spin_loop();
        } else {
            std::thread::sleep(DROWSY_SLEEP);
        }
    }
}

/// Looks without work after which [`keep_awake`] starts sleeping between looks: some
/// milliseconds, longer than the gaps between the splits of a training step.
const DROWSY_AFTER: u32 = 200_000;

/// The sleep between two looks of a drowsy [`keep_awake`].
const DROWSY_SLEEP: std::time::Duration = std::time::Duration::from_micros(200);

/// The number of threads the CPU backends will use.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// The inference device of `kind`, seeded with `seed`.
///
/// Training uses `device.clone().autodiff()`; the seed then covers both, because burn seeds the
/// inner backend.
pub fn device(kind: BackendKind, seed: u64) -> Result<Device> {
    never_purge_freed_memory();
    let device = match kind {
        BackendKind::Flex => Device::flex(),
        BackendKind::Ndarray => ndarray_device()?,
        BackendKind::Wgpu => wgpu_device()?,
    };
    device.seed(seed);
    Ok(device)
}

// ANCHOR: stage_seed
/// A part of a run with a random stream of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// One training epoch (and the validation after it).
    Epoch(usize),
    /// Everything after training: test metrics and samples.
    Evaluation,
}

/// The seed of one stream of one stage of a run seeded with `seed`.
///
/// The device's generator cannot be read, so it cannot be saved with a run; instead every stage
/// starts from a seed of its own. A run resumed at epoch e then draws exactly what the run left
/// alone drew from epoch e on. `stream` tells a stage's generators apart (the device's, the data
/// order's). The mixing is SplitMix64's finaliser, so nearby inputs give unrelated seeds.
pub fn stage_seed(seed: u64, stage: Stage, stream: u64) -> u64 {
    let stage = match stage {
        Stage::Epoch(epoch) => epoch as u64,
        Stage::Evaluation => u64::MAX,
    };
    let mut z = seed;
    for word in [stage, stream] {
        // z = mix(z + golden ratio + word)
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(word);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// Starts `stage` of a run seeded with `seed`: reseeds `device` (its random tensors: noise,
/// dropout) and returns the generator of the data order.
pub fn seed_stage(device: &Device, seed: u64, stage: Stage) -> StdRng {
    device.seed(stage_seed(seed, stage, DEVICE_STREAM));
    StdRng::seed_from_u64(stage_seed(seed, stage, ORDER_STREAM))
}
// ANCHOR_END: stage_seed

const DEVICE_STREAM: u64 = 0;
const ORDER_STREAM: u64 = 1;

#[cfg(feature = "ndarray")]
#[allow(deprecated)] // burn-ndarray is deprecated in burn 0.22; it stays here for comparison.
fn ndarray_device() -> Result<Device> {
    Ok(Device::ndarray())
}

#[cfg(not(feature = "ndarray"))]
fn ndarray_device() -> Result<Device> {
    bail!(
        "this binary was built without the ndarray backend; rebuild with \
         `--features dgm_core/ndarray` to use `--backend ndarray`"
    )
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device> {
    bail!(
        "this binary was built without the wgpu backend; rebuild with \
         `--features dgm_core/wgpu` to use `--backend wgpu`"
    )
}
