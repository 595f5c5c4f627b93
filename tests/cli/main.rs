//! Experiment runs end to end on the embedded digits with tiny models: exact resume (in
//! process and after a real SIGKILL), metrics files, damaged checkpoints, plots, error messages.
//!
//! One test binary, a module per command: `train`, `resume` (in process and after a real
//! SIGKILL), `signals` (SIGINT, SIGTERM), `eval` (damaged checkpoints too), `plot`, `data`,
//! `info`, `bench`, `usage` (help and command-line mistakes), `workflow` (a run directory
//! through every report command) and `repository` (shipped configs and documentation);
//! `helpers` holds what several of them use.

#[path = "../common/mod.rs"]
mod common;

mod bench;
mod data;
mod eval;
mod helpers;
mod info;
mod plot;
mod repository;
mod resume;
mod signals;
mod train;
mod usage;
mod workflow;
