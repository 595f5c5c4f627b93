//! ttfs: train time-to-first-spike spiking neural networks from scratch, fast.
//!
//! Three crates, each seeing only those below it:
//! - `ttfs-core` (`crates/ttfs-core`): device buffers, kernels, the CPU and CUDA backends,
//!   collectives, surrogates, the RNG;
//! - `ttfs-nn` (`crates/ttfs-nn`): layers, decoders, the model, data sets, configs,
//!   checkpoints, the trainer, event-driven inference, energy, NIR;
//! - this crate, the application: the command line (`main.rs`), run directories and the
//!   training loop around the trainer (`run`, `run_dir`, `divergence`, `interrupt`), what is
//!   shown (`progress`, `plot`), and `bench` and `selftest`. The Python bindings (`python/`)
//!   use the library through it.
//!
//! The library's modules are re-exported under their names (`ttfs::model`, `ttfs::kernels`,
//! ...), so a program that uses ttfs depends on this one crate.

pub use ttfs_nn::*;

pub mod bench;
pub mod divergence;
pub mod interrupt;
pub mod plot;
pub mod progress;
pub mod run;
pub mod run_dir;
pub mod selftest;
