//! Poison-free locks: `std::sync`'s `Mutex`, `Condvar` and `RwLock` (loom's under `cfg(loom)`)
//! whose lock and wait calls ignore poisoning. Every tier's internal locks are these.
//!
//! A panic while a guard is held poisons a std lock, and every later `lock()` returns an error
//! that the caller can only unwrap. The tower never runs user code while holding one of its
//! locks, so a panic cannot leave the guarded state half-written: poisoning is not an error path
//! here, and these wrappers take the guard back instead (`PoisonError::into_inner`).
//!
//! Under `--cfg loom` the same types wrap loom's, so the loom models of every tier check the
//! code that ships.
//!
//! ```
//! use tower_coro::poison_free::Mutex;
//!
//! let m = Mutex::new(1);
//! let _ = std::panic::catch_unwind(|| {
//!     let _g = m.lock();
//!     panic!("while locked");
//! });
//! *m.lock() += 1; // a std mutex would report poisoning here
//! assert_eq!(*m.lock(), 2);
//! ```

use std::fmt;
use std::sync::PoisonError;
use std::time::Duration;

#[cfg(loom)]
use loom::sync as imp;
#[cfg(not(loom))]
use std::sync as imp;

/// The guard of a [`Mutex`].
pub type MutexGuard<'a, T> = imp::MutexGuard<'a, T>;
/// The shared guard of an [`RwLock`].
pub type RwLockReadGuard<'a, T> = imp::RwLockReadGuard<'a, T>;
/// The exclusive guard of an [`RwLock`].
pub type RwLockWriteGuard<'a, T> = imp::RwLockWriteGuard<'a, T>;

/// A mutual-exclusion lock whose [`lock`](Self::lock) ignores poisoning.
#[derive(Default)]
pub struct Mutex<T> {
    /// The wrapped lock.
    inner: imp::Mutex<T>,
}

impl<T> Mutex<T> {
    /// A new mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            inner: imp::Mutex::new(value),
        }
    }

    /// Locks, blocking the thread until the lock is free; a previous holder's panic is ignored.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks if the lock is free now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.inner.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the value: printing it would mean locking, which could deadlock a caller that holds
        // the lock while formatting.
        f.write_str("Mutex { .. }")
    }
}

/// A condition variable whose waits ignore poisoning; used with a [`Mutex`]'s guard.
#[derive(Debug, Default)]
pub struct Condvar {
    /// The wrapped condition variable.
    inner: imp::Condvar,
}

impl Condvar {
    /// A new condition variable.
    pub fn new() -> Self {
        Condvar {
            inner: imp::Condvar::new(),
        }
    }

    /// Releases `guard`'s lock and blocks until notified (or woken spuriously), then locks again.
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// As [`wait`](Self::wait), for at most `timeout`; the flag is `true` if the wait timed out.
    /// (Under loom a wait never times out.)
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        let (guard, res) = self
            .inner
            .wait_timeout(guard, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        (guard, res.timed_out())
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}

/// A reader-writer lock whose [`read`](Self::read) and [`write`](Self::write) ignore poisoning.
#[derive(Default)]
pub struct RwLock<T> {
    /// The wrapped lock.
    inner: imp::RwLock<T>,
}

impl<T> RwLock<T> {
    /// A new lock holding `value`.
    pub fn new(value: T) -> Self {
        RwLock {
            inner: imp::RwLock::new(value),
        }
    }

    /// Shared access, blocking while a writer holds the lock.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access, blocking while anyone holds the lock.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RwLock { .. }")
    }
}
