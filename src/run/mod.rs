//! Experiment runs on top of the [`Trainer`]: the epoch loop with checkpoints, metrics files
//! and progress, divergence detection, and loading a checkpoint back for evaluation.
//!
//! - [`train`] (`training`): the epoch loop and what the run directory keeps of each epoch;
//!   `checkpoint_clock` says when a time-based checkpoint is due, `interruption` how a
//!   signal stops the run;
//! - `epoch_report`: the line printed after each epoch and the warnings about a run that does
//!   not learn;
//! - `restored`: a checkpoint back as a model, with its data split ([`Restored`]) or alone
//!   ([`load_model`]);
//! - `eval_report` and `model_summary`: the text of `ttfs eval` and `ttfs info`.
//!
//! [`Trainer`]: crate::train::Trainer

mod checkpoint_clock;
mod epoch_report;
mod eval_report;
mod interruption;
mod model_summary;
mod restored;
mod training;

pub use crate::divergence::{diagnose, EXPLODED_LOSS};
pub use checkpoint_clock::CheckpointClock;
pub use epoch_report::{at_chance, epoch_line, sanity_warnings};
pub use eval_report::eval_report;
pub use interruption::program;
pub use model_summary::model_summary;
pub use restored::{known_frame, load_model, restore, Restored};
pub use training::{record_epoch, train};
