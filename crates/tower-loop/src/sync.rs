//! A poison-free mutex wrapper: a panic while a guard is held is not an error path here.
//!
//! The loop never runs user code while holding one of these, so the data is consistent even if a
//! panic unwound through a guard.

use std::fmt;
use std::sync::PoisonError;

use crate::loom::{Mutex, MutexGuard};

/// A `std::sync::Mutex` (loom's under `cfg(loom)`) whose `lock` ignores poisoning.
#[derive(Default)]
pub(crate) struct Lock<T> {
    /// The wrapped mutex.
    inner: Mutex<T>,
}

impl<T> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lock { .. }")
    }
}

impl<T> Lock<T> {
    /// Wraps `value`.
    pub(crate) fn new(value: T) -> Self {
        Lock {
            inner: Mutex::new(value),
        }
    }

    /// Locks, recovering the guard if a previous holder panicked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
