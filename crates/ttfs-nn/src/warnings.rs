//! Warnings the library cannot return as errors because the work succeeds anyway (a data
//! cache it could not read or write: the data set is decoded from its files instead).
//!
//! The library never writes to the screen: it hands each warning to the handler the
//! application installed with [`set_handler`] (the CLI and the Python package print it on
//! stderr). Without a handler, warnings are kept until [`take`] collects them, so that a
//! program embedding the library loses none.

use std::sync::{Mutex, RwLock};

type Handler = Box<dyn Fn(&str) + Send + Sync>;

static HANDLER: RwLock<Option<Handler>> = RwLock::new(None);
static PENDING: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Send every later warning to `handler`, and the ones kept so far at once.
pub fn set_handler(handler: impl Fn(&str) + Send + Sync + 'static) {
    for w in take() {
        handler(&w);
    }
    *HANDLER.write().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(handler));
}

/// Report `message` (one line, without a `warning:` prefix).
pub fn warn(message: impl Into<String>) {
    let message = message.into();
    match &*HANDLER.read().unwrap_or_else(|e| e.into_inner()) {
        Some(h) => h(&message),
        None => PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message),
    }
}

/// The warnings kept since the last call (none once a handler is installed).
pub fn take() -> Vec<String> {
    std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a handler a warning is kept, not lost; `take` empties the queue. (The only
    /// test that touches the global state: installing a handler would leak into the
    /// others of this binary.)
    #[test]
    fn warnings_are_kept_until_taken() {
        warn("a cache could not be read");
        let kept = take();
        assert!(
            kept.iter().any(|w| w == "a cache could not be read"),
            "{kept:?}"
        );
        assert!(!take().iter().any(|w| w == "a cache could not be read"));
    }
}
