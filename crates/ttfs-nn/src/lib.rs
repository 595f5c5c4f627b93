//! ttfs-nn: the ttfs library. Fire-once spiking layers, encodings and decoders, the model,
//! loss and optimizers, data sets, configs, checkpoints, the trainer, event-driven inference,
//! energy estimates and NIR export and import, on the numeric core of `ttfs-core`.
//!
//! Layering (nothing lower imports anything higher; the crates enforce the first step):
//! `ttfs-core` (`kernels`, `tensor`, `rng`, `surrogate`, `collective`) -> `layers`,
//! `weight_norm`, `ettfs_init` -> `decoder`, `encoding`, `loss`, `spec` -> `aux_membrane` ->
//! `model` -> `optim`, `metrics`, `energy`, `train`; `data` beside them; `checkpoint`,
//! `config` and the inference and export of a trained model (`event_driven`, `nir`) above
//! the trainer. The application (the CLI, run directories, plots, progress) is the `ttfs`
//! crate on top; this crate reports through return values (and `warnings` for what does not
//! fail) and never writes to the screen.
//!
//! The paper's four contributions: `ettfs_init.rs`, `weight_norm.rs`, `decoder.rs`
//! (temporal weighting) and `layers/avg_pool.rs`.

#![deny(clippy::print_stdout, clippy::print_stderr)]

// The core's modules under their old paths (`crate::kernels`, `ttfs_nn::tensor`, ...), so a
// layer names a kernel the same way whichever crate holds it.
pub use ttfs_core::{collective, kernels, rng, surrogate, tensor};

pub mod atomic_file;
pub mod aux_membrane;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod decoder;
pub mod ema;
pub mod encoding;
pub mod energy;
pub mod ettfs_init;
pub mod event_driven;
pub mod firing_calibration;
pub mod init_from;
pub mod layer_names;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod nir;
pub mod optim;
pub mod param_check;
pub mod sizes;
pub mod spec;
pub mod traces;
pub mod train;
pub mod warnings;
pub mod weight_norm;
