//! ttfs: train time-to-first-spike spiking neural networks from scratch, fast.
//!
//! Layering (nothing lower imports anything higher):
//! `tensor`, `rng`, `surrogate` -> `kernels` -> `layers`, `weight_norm`, `ettfs_init` ->
//! `decoder`, `encoding`, `loss`, `spec` -> `aux_membrane` -> `model` -> `optim`, `metrics`,
//! `energy`, `train`;
//! `data` beside them; experiment runs (`checkpoint`, `run_dir`, `run`, `progress`, `plot`)
//! and the inference and export of a trained model (`event_driven`, `nir`) above the trainer;
//! the command line (`main.rs`) and the Python bindings (`python/`, their own crate) on top.
//!
//! The paper's four contributions: `ettfs_init.rs`, `weight_norm.rs`, `decoder.rs`
//! (temporal weighting) and `layers/avg_pool.rs`.

pub mod atomic_file;
pub mod aux_membrane;
pub mod bench;
pub mod checkpoint;
pub mod checkpoint_digest;
pub mod collective;
pub mod config;
pub mod config_checks;
pub mod data;
pub mod decoder;
pub mod divergence;
pub mod encoding;
pub mod energy;
pub mod ettfs_init;
pub mod event_driven;
pub mod firing_calibration;
pub mod init_from;
pub mod interrupt;
pub mod kernels;
pub mod layer_names;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod nir;
pub mod nir_export;
pub mod nir_import;
pub mod nir_read;
pub mod optim;
pub mod param_check;
pub mod plot;
pub mod progress;
pub mod rng;
pub mod run;
pub mod run_dir;
pub mod safetensors_write;
pub mod selftest;
pub mod sizes;
pub mod spec;
pub mod surrogate;
pub mod tensor;
pub mod traces;
pub mod train;
pub mod train_split;
pub mod weight_norm;
