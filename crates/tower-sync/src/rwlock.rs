//! `RwLock`: a FIFO-fair reader-writer lock. Readers share, writers exclude; a queued writer
//! holds back later readers (no writer starvation), and consecutive queued readers are
//! admitted together.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::blocking::block_on;
use crate::loom::Mutex;
use crate::waitlist::{Removed, WaitList};

/// Queue tag of a waiting reader.
const READ: u8 = 0;
/// Queue tag of a waiting writer.
const WRITE: u8 = 1;

/// Who holds the lock, and who waits.
#[derive(Debug)]
struct State {
    /// Readers holding the lock.
    readers: usize,
    /// A writer holds the lock.
    writer: bool,
    /// Waiters in arrival order, tagged `READ`/`WRITE`; a grant is the lock in that mode.
    waiters: WaitList<()>,
}

impl State {
    /// Grants the lock to the waiters at the head that can have it now; collects their wakers.
    fn grant(&mut self, wakers: &mut Vec<Waker>) {
        while let Some(tag) = self.waiters.front_tag() {
            if self.writer || (tag == WRITE && self.readers > 0) {
                break;
            }
            if tag == WRITE {
                self.writer = true;
            } else {
                self.readers += 1;
            }
            if let Some(w) = self.waiters.notify_one(()) {
                wakers.push(w);
            }
            if tag == WRITE {
                break;
            }
        }
    }
}

/// The shared core, used by every guard and future.
struct Raw {
    /// All state, under one mutex.
    state: Mutex<State>,
}

impl Raw {
    /// Polls an acquire in mode `tag` with queue entry `key`.
    fn poll(&self, tag: u8, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.state.lock();
        if let Some(k) = *key {
            if s.waiters.take_notified(k).is_some() {
                *key = None;
                return Poll::Ready(());
            }
            s.waiters.set_waker(k, cx.waker());
            return Poll::Pending;
        }
        if Self::try_locked(&mut s, tag) {
            return Poll::Ready(());
        }
        *key = Some(s.waiters.push_back(cx.waker().clone(), tag));
        Poll::Pending
    }

    /// Takes the lock in mode `tag` if nobody holds it against us and nobody waits.
    fn try_locked(s: &mut State, tag: u8) -> bool {
        if s.writer || !s.waiters.is_empty() {
            return false;
        }
        if tag == WRITE {
            if s.readers > 0 {
                return false;
            }
            s.writer = true;
        } else {
            s.readers += 1;
        }
        true
    }

    /// `try_read` / `try_write`.
    fn try_lock(&self, tag: u8) -> bool {
        Self::try_locked(&mut self.state.lock(), tag)
    }

    /// Gives up the lock held in mode `tag`, admitting whoever can go next.
    fn unlock(&self, tag: u8) {
        let mut wakers = Vec::new();
        {
            let mut s = self.state.lock();
            if tag == WRITE {
                s.writer = false;
            } else {
                s.readers -= 1;
            }
            s.grant(&mut wakers);
        }
        crate::waitlist::wake_all(wakers);
    }

    /// A queued acquire went away: give back a grant, or let the queue behind it move.
    fn cancel(&self, tag: u8, key: usize) {
        let mut wakers = Vec::new();
        {
            let mut s = self.state.lock();
            match s.waiters.remove(key) {
                Removed::Notified(()) => {
                    if tag == WRITE {
                        s.writer = false;
                    } else {
                        s.readers -= 1;
                    }
                }
                // A writer leaving the head may let the readers behind it in.
                Removed::Waiting => {}
            }
            s.grant(&mut wakers);
        }
        crate::waitlist::wake_all(wakers);
    }
}

/// A FIFO-fair asynchronous reader-writer lock around a `T`.
///
/// # Examples
///
/// ```
/// use tower_sync::RwLock;
///
/// # tower_coro::block_on(async {
/// let lock = RwLock::new(1);
/// let r1 = lock.read().await;
/// let r2 = lock.read().await;
/// assert_eq!(*r1 + *r2, 2);
/// assert!(lock.try_write().is_none());
/// drop((r1, r2));
/// *lock.write().await += 1;
/// assert_eq!(*lock.read().await, 2);
/// # });
/// ```
pub struct RwLock<T: ?Sized> {
    /// Modes and waiters.
    raw: Raw,
    /// The value; `&T` while readers hold the lock, `&mut T` while a writer does.
    data: UnsafeCell<T>,
}

// SAFETY: a writer gets `&mut T` alone, so `T: Send` is needed to move access between threads;
// readers share `&T` across threads, so `T: Sync` is needed for that.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock around `value`.
    pub fn new(value: T) -> Self {
        Self {
            raw: Raw {
                state: Mutex::new(State {
                    readers: 0,
                    writer: false,
                    waiters: WaitList::new(),
                }),
            },
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Acquires shared access, behind any earlier waiter.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the queue; access already granted to it is given back and
    /// passed on.
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: self,
            key: None,
        }
    }

    /// Acquires exclusive access, behind any earlier waiter.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the queue (letting readers queued behind it in, if they
    /// can go); access already granted to it is given back and passed on.
    pub fn write(&self) -> Write<'_, T> {
        Write {
            lock: self,
            key: None,
        }
    }

    /// Shared access if available now.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw
            .try_lock(READ)
            .then(|| RwLockReadGuard { lock: self })
    }

    /// Exclusive access if available now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw
            .try_lock(WRITE)
            .then(|| RwLockWriteGuard { lock: self })
    }

    /// [`RwLock::read`], blocking the thread (never inside a task).
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        block_on(self.read())
    }

    /// [`RwLock::write`], blocking the thread (never inside a task).
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        block_on(self.write())
    }

    /// [`RwLock::read`] through an `Arc`, for a guard that outlives the borrow.
    ///
    /// # Cancel safety
    ///
    /// As for [`RwLock::read`].
    pub fn read_arc(self: &Arc<Self>) -> ReadArc<T> {
        ReadArc {
            lock: Some(self.clone()),
            key: None,
        }
    }

    /// [`RwLock::write`] through an `Arc`.
    ///
    /// # Cancel safety
    ///
    /// As for [`RwLock::write`].
    pub fn write_arc(self: &Arc<Self>) -> WriteArc<T> {
        WriteArc {
            lock: Some(self.clone()),
            key: None,
        }
    }

    /// The value, through exclusive access to the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: ?Sized> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.raw.state.lock();
        f.debug_struct("RwLock")
            .field("readers", &s.readers)
            .field("writer", &s.writer)
            .field("waiters", &s.waiters.len())
            .finish_non_exhaustive()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// Defines an acquire future by borrow, its `Arc` twin, and their guards.
macro_rules! rw_mode {
    ($tag:ident, $fut:ident, $fut_arc:ident, $guard:ident, $guard_arc:ident, $what:literal) => {
        #[doc = concat!("The future of [`RwLock::", $what, "`].")]
        #[must_use = "futures do nothing unless awaited"]
        pub struct $fut<'a, T: ?Sized> {
            /// The lock.
            lock: &'a RwLock<T>,
            /// Our queue entry.
            key: Option<usize>,
        }

        impl<'a, T: ?Sized> Future for $fut<'a, T> {
            type Output = $guard<'a, T>;

            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = &mut *self;
                match this.lock.raw.poll($tag, &mut this.key, cx) {
                    Poll::Ready(()) => Poll::Ready($guard { lock: this.lock }),
                    Poll::Pending => Poll::Pending,
                }
            }
        }

        impl<T: ?Sized> Drop for $fut<'_, T> {
            fn drop(&mut self) {
                if let Some(key) = self.key.take() {
                    self.lock.raw.cancel($tag, key);
                }
            }
        }

        impl<T: ?Sized> fmt::Debug for $fut<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($fut))
                    .field("queued", &self.key.is_some())
                    .finish_non_exhaustive()
            }
        }

        #[doc = concat!("The future of [`RwLock::", $what, "_arc`].")]
        #[must_use = "futures do nothing unless awaited"]
        pub struct $fut_arc<T: ?Sized> {
            /// The lock; moved into the guard.
            lock: Option<Arc<RwLock<T>>>,
            /// Our queue entry.
            key: Option<usize>,
        }

        impl<T: ?Sized> Future for $fut_arc<T> {
            type Output = $guard_arc<T>;

            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = &mut *self;
                let Some(lock) = this.lock.as_ref() else {
                    return Poll::Pending;
                };
                match lock.raw.poll($tag, &mut this.key, cx) {
                    Poll::Ready(()) => match this.lock.take() {
                        Some(lock) => Poll::Ready($guard_arc { lock }),
                        None => Poll::Pending,
                    },
                    Poll::Pending => Poll::Pending,
                }
            }
        }

        impl<T: ?Sized> Drop for $fut_arc<T> {
            fn drop(&mut self) {
                if let (Some(key), Some(lock)) = (self.key.take(), self.lock.as_ref()) {
                    lock.raw.cancel($tag, key);
                }
            }
        }

        impl<T: ?Sized> fmt::Debug for $fut_arc<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($fut_arc))
                    .field("queued", &self.key.is_some())
                    .finish_non_exhaustive()
            }
        }

        #[doc = concat!("Holds a [`RwLock`] for ", $what, "ing; gives it up when dropped.")]
        #[must_use = "the lock is released as soon as the guard is dropped"]
        pub struct $guard<'a, T: ?Sized> {
            /// The lock.
            lock: &'a RwLock<T>,
        }

        impl<T: ?Sized> Drop for $guard<'_, T> {
            fn drop(&mut self) {
                self.lock.raw.unlock($tag);
            }
        }

        impl<T: ?Sized> Deref for $guard<'_, T> {
            type Target = T;

            fn deref(&self) -> &T {
                // SAFETY: the guard holds the lock; while it does, no writer other than this
                // guard (if it is one) exists, so no `&mut T` aliases this `&T`.
                unsafe { &*self.lock.data.get() }
            }
        }

        impl<T: ?Sized + fmt::Debug> fmt::Debug for $guard<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($guard)).field(&&**self).finish()
            }
        }

        #[doc = concat!("Holds an `Arc<RwLock>` for ", $what, "ing; gives it up when dropped.")]
        #[must_use = "the lock is released as soon as the guard is dropped"]
        pub struct $guard_arc<T: ?Sized> {
            /// The lock.
            lock: Arc<RwLock<T>>,
        }

        impl<T: ?Sized> Drop for $guard_arc<T> {
            fn drop(&mut self) {
                self.lock.raw.unlock($tag);
            }
        }

        impl<T: ?Sized> Deref for $guard_arc<T> {
            type Target = T;

            fn deref(&self) -> &T {
                // SAFETY: as for the borrowing guard.
                unsafe { &*self.lock.data.get() }
            }
        }

        impl<T: ?Sized + fmt::Debug> fmt::Debug for $guard_arc<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($guard_arc))
                    .field(&&**self)
                    .finish()
            }
        }
    };
}

rw_mode!(
    READ,
    Read,
    ReadArc,
    RwLockReadGuard,
    RwLockReadGuardArc,
    "read"
);
rw_mode!(
    WRITE,
    Write,
    WriteArc,
    RwLockWriteGuard,
    RwLockWriteGuardArc,
    "write"
);

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard holds the lock exclusively and is borrowed mutably here.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuardArc<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard holds the lock exclusively and is borrowed mutably here.
        unsafe { &mut *self.lock.data.get() }
    }
}

// SAFETY: read guards share `&T` (needs `T: Sync`); write guards hand out `&T` to sharers.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}
