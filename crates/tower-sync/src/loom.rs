//! The loom shim: the same synchronisation code runs on `std` normally and on `loom` under
//! `--cfg loom`, so the models in `tests/loom_*.rs` check the real state machines.
//!
//! Every atomic and every internal mutex of the crate comes from here. The mutexes are
//! poison-free: a panic while one is held cannot leave the protected state half-written in a
//! way the crate relies on, because no crate code panics while holding one.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
/// Internal shared ownership (handles of queues and channels); public `_arc` APIs take
/// `std::sync::Arc` and are not modelled.
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

#[cfg(loom)]
use loom::sync as imp;
#[cfg(not(loom))]
use std::sync as imp;

/// A mutex that ignores poisoning.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(imp::Mutex<T>);

/// The guard of [`Mutex`].
pub(crate) type MutexGuard<'a, T> = imp::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// A new mutex holding `value`.
    pub(crate) fn new(value: T) -> Self {
        Self(imp::Mutex::new(value))
    }

    /// Locks, ignoring poison.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value, through exclusive access.
    #[allow(dead_code)]
    pub(crate) fn into_inner(self) -> T {
        self.0
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A reader-writer lock that ignores poisoning.
#[derive(Debug, Default)]
pub(crate) struct RwLock<T>(imp::RwLock<T>);

/// The shared guard of [`RwLock`].
pub(crate) type RwLockReadGuard<'a, T> = imp::RwLockReadGuard<'a, T>;
/// The exclusive guard of [`RwLock`].
pub(crate) type RwLockWriteGuard<'a, T> = imp::RwLockWriteGuard<'a, T>;

impl<T> RwLock<T> {
    /// A new lock holding `value`.
    pub(crate) fn new(value: T) -> Self {
        Self(imp::RwLock::new(value))
    }

    /// Shared access, ignoring poison.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Exclusive access, ignoring poison.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
