//! A flag that a byte limit was passed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Trips when a byte limit is passed, so that the error the tar reader
/// wraps can be told apart from a malformed archive.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tripwire(Arc<AtomicBool>);

impl Tripwire {
    pub(crate) fn trip(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub(crate) fn tripped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
