//! When a checkpoint is due by time, so that a long epoch is never lost whole.

use std::time::{Duration, Instant};

/// When a time-based checkpoint is due: `minutes` after the previous checkpoint, so that a
/// long epoch is never lost whole (0: never).
pub struct CheckpointClock {
    interval: Option<Duration>,
    last: Instant,
}

impl CheckpointClock {
    pub fn new(minutes: f32) -> Self {
        CheckpointClock {
            interval: Duration::try_from_secs_f32(minutes * 60.0)
                .ok()
                .filter(|d| !d.is_zero()),
            last: Instant::now(),
        }
    }

    pub fn due(&self) -> bool {
        self.interval.is_some_and(|i| self.last.elapsed() >= i)
    }

    /// A checkpoint was just written.
    pub fn reset(&mut self) {
        self.last = Instant::now();
    }
}
