//! A poison-free mutex wrapper: a panic while a guard is held is not an error path here.
//!
//! The loop never runs user code while holding one of these, so the data is consistent even if a
//! panic unwound through a guard.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A `std::sync::Mutex` whose `lock` ignores poisoning.
#[derive(Debug, Default)]
pub(crate) struct Lock<T> {
    /// The wrapped mutex.
    inner: Mutex<T>,
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
