//! `Lock`: asyncio's FIFO-fair mutual exclusion lock, holding the data it protects (Rust's
//! idiom) and released by dropping its RAII guard (instead of `release()`).

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::blocking::block_on;
use crate::raw_sem::RawSemaphore;

/// A FIFO-fair asynchronous mutual exclusion lock around a `T` (asyncio's `Lock`).
///
/// Waiters get the lock in the order they started waiting: unlocking hands it straight to the
/// oldest waiter, so a newcomer never barges in front of the queue, nor in front of the
/// waiter the lock was handed to before that waiter has resumed. `Lock<()>` is asyncio's
/// data-less lock; with data, the guard gives access to it.
///
/// # Examples
///
/// ```
/// use tower_sync::Lock;
///
/// # tower_coro::block_on(async {
/// let lock = Lock::new(0);
/// *lock.lock().await += 1;
/// assert_eq!(*lock.lock().await, 1);
/// assert!(!lock.locked());
/// # });
/// ```
pub struct Lock<T: ?Sized = ()> {
    /// One permit: held while locked.
    sem: RawSemaphore,
    /// The protected value; accessed only through a guard, which holds the permit.
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one guard at a time (the permit), so sharing the lock
// across threads is like sending `T` between them.
unsafe impl<T: ?Sized + Send> Send for Lock<T> {}
// SAFETY: as above; `&Lock<T>` only yields `&mut T` through the single held permit.
unsafe impl<T: ?Sized + Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    /// A new, unlocked lock around `value`.
    pub fn new(value: T) -> Self {
        Self {
            sem: RawSemaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// The protected value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Lock<T> {
    /// Acquires the lock, waiting behind earlier waiters.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes leaves the queue; if the lock had already been
    /// handed to it, the lock passes to the next waiter. Nothing is lost and no one starves.
    pub fn lock(&self) -> Acquire<'_, T> {
        Acquire {
            lock: self,
            key: None,
        }
    }

    /// Acquires the lock if it is free and nobody waits (exactly when [`Lock::locked`] is
    /// false).
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.sem.try_acquire().then(|| LockGuard { lock: self })
    }

    /// Acquires the lock, blocking the thread (for synchronous code, never inside a task).
    pub fn lock_blocking(&self) -> LockGuard<'_, T> {
        block_on(self.lock())
    }

    /// Acquires the lock through an `Arc`, for a guard that must outlive the borrow.
    ///
    /// # Cancel safety
    ///
    /// As for [`Lock::lock`].
    pub fn lock_arc(self: &Arc<Self>) -> AcquireArc<T> {
        AcquireArc {
            lock: Some(self.clone()),
            key: None,
        }
    }

    /// [`Lock::try_lock`] through an `Arc`.
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<LockGuardArc<T>> {
        self.sem
            .try_acquire()
            .then(|| LockGuardArc { lock: self.clone() })
    }

    /// [`Lock::lock_arc`], blocking the thread.
    pub fn lock_arc_blocking(self: &Arc<Self>) -> LockGuardArc<T> {
        block_on(self.lock_arc())
    }

    /// True if the lock is held, or handed to a waiter that has not resumed yet, or someone
    /// waits for it: whether a newcomer would wait. (asyncio's `Lock.locked()` reads false
    /// between a release and the resumption of the waiter it wakes, although a newcomer
    /// queues then too.)
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// The value, through exclusive access to the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Unlocks on behalf of a guard that is going away.
    fn unlock(&self) {
        self.sem.release();
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .field("waiters", &self.sem.waiters())
            .finish_non_exhaustive()
    }
}

/// The future of [`Lock::lock`].
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a, T: ?Sized> {
    /// The lock.
    lock: &'a Lock<T>,
    /// Our place in the queue, once queued.
    key: Option<usize>,
}

impl<'a, T: ?Sized> Future for Acquire<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this.lock.sem.poll_acquire(&mut this.key, cx) {
            Poll::Ready(()) => Poll::Ready(LockGuard { lock: this.lock }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for Acquire<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.lock.sem.cancel(key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for Acquire<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of [`Lock::lock_arc`].
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireArc<T: ?Sized> {
    /// The lock; taken when the guard is made.
    lock: Option<Arc<Lock<T>>>,
    /// Our place in the queue, once queued.
    key: Option<usize>,
}

impl<T: ?Sized> Future for AcquireArc<T> {
    type Output = LockGuardArc<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(lock) = this.lock.as_ref() else {
            return Poll::Pending;
        };
        match lock.sem.poll_acquire(&mut this.key, cx) {
            Poll::Ready(()) => match this.lock.take() {
                Some(lock) => Poll::Ready(LockGuardArc { lock }),
                None => Poll::Pending,
            },
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for AcquireArc<T> {
    fn drop(&mut self) {
        if let (Some(key), Some(lock)) = (self.key.take(), self.lock.as_ref()) {
            lock.sem.cancel(key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for AcquireArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireArc")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// Holds a [`Lock`]; unlocks it (handing it to the next waiter) when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a, T: ?Sized> {
    /// The held lock.
    lock: &'a Lock<T>,
}

impl<'a, T: ?Sized> LockGuard<'a, T> {
    /// The lock this guard holds.
    pub fn source(guard: &Self) -> &'a Lock<T> {
        guard.lock
    }
}

// SAFETY: sharing the guard shares `&T` only.
unsafe impl<T: ?Sized + Sync> Sync for LockGuard<'_, T> {}

impl<T: ?Sized> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized> Deref for LockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock's only permit, so no `&mut T` exists elsewhere.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock's only permit and is borrowed mutably.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LockGuard").field(&&**self).finish()
    }
}

/// Holds a [`Lock`] through an `Arc`; unlocks it when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuardArc<T: ?Sized> {
    /// The held lock.
    lock: Arc<Lock<T>>,
}

impl<T: ?Sized> LockGuardArc<T> {
    /// The lock this guard holds.
    pub fn source(guard: &Self) -> &Arc<Lock<T>> {
        &guard.lock
    }
}

// SAFETY: sharing the guard shares `&T` only.
unsafe impl<T: ?Sized + Sync> Sync for LockGuardArc<T> {}

impl<T: ?Sized> Drop for LockGuardArc<T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized> Deref for LockGuardArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock's only permit, so no `&mut T` exists elsewhere.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for LockGuardArc<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock's only permit and is borrowed mutably.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for LockGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LockGuardArc").field(&&**self).finish()
    }
}
