//! The global injector: the queue that work from outside the workers (and overflow from a full
//! local queue) goes through, a mutex-protected list behind a lock-free length.
//!
//! # Who may touch which field
//!
//! - `inner` (the list and the closed flag): any thread, only while holding the mutex. Nothing
//!   run under the lock calls user code or wakes anyone; items that must be dropped (a push to a
//!   closed injector, a drain) are moved out first and dropped after the guard.
//! - `len`: written only while holding the mutex (so it always equals the list's length as of
//!   the last unlock), read by anyone without the lock as a fast "is empty" hint. A reader that
//!   must not miss an item pairs its read with a read-modify-write elsewhere (see `idle`), never
//!   with this load alone.
// The items are `pub` for the loom models, which reach the module under `cfg(loom)`; without
// it the module is private.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use std::collections::VecDeque;
use std::fmt;

use crate::loom::{AtomicUsize, Mutex, Ordering};

/// A multi-producer, multi-consumer FIFO of tasks with a lock-free emptiness check.
///
/// Its use, as a unit test: `tests::push_pop_close`.
pub struct Inject<T> {
    /// Number of queued items; written under `inner`'s lock, read without it.
    len: AtomicUsize,
    /// The list and the closed flag.
    inner: Mutex<Synced<T>>,
}

/// The part of [`Inject`] guarded by its mutex.
struct Synced<T> {
    /// Queued items, oldest first.
    queue: VecDeque<T>,
    /// Set by [`Inject::close`]; pushes then hand their items back.
    closed: bool,
}

impl<T> Default for Inject<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Inject<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inject").field("len", &self.len()).finish()
    }
}

impl<T> Inject<T> {
    /// An empty, open injector.
    pub fn new() -> Self {
        Inject {
            len: AtomicUsize::new(0),
            inner: Mutex::new(Synced {
                queue: VecDeque::new(),
                closed: false,
            }),
        }
    }

    /// The number of queued items (a hint: other threads may change it at once).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether the injector looks empty (a hint, see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `item`; hands it back if the injector is closed.
    ///
    /// # Errors
    ///
    /// `Err(item)` if [`close`](Self::close) was called.
    pub fn push(&self, item: T) -> Result<(), T> {
        let mut g = self.inner.lock();
        if g.closed {
            return Err(item);
        }
        g.queue.push_back(item);
        self.len.store(g.queue.len(), Ordering::Release);
        Ok(())
    }

    /// Appends every item of `items` under one lock. If the injector is closed they are dropped
    /// (after the lock is released).
    pub fn push_batch(&self, items: impl IntoIterator<Item = T>) {
        let mut g = self.inner.lock();
        g.queue.extend(items);
        if g.closed {
            let dropped = std::mem::take(&mut g.queue);
            self.len.store(0, Ordering::Release);
            drop(g);
            drop(dropped);
        } else {
            self.len.store(g.queue.len(), Ordering::Release);
        }
    }

    /// Removes the oldest item.
    pub fn pop(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let mut g = self.inner.lock();
        let item = g.queue.pop_front();
        self.len.store(g.queue.len(), Ordering::Release);
        item
    }

    /// Removes up to `max` of the oldest items under one lock, handing each to `f` in order;
    /// returns how many. `f` runs under the lock: it must not touch this injector.
    pub fn pop_batch(&self, max: usize, mut f: impl FnMut(T)) -> usize {
        if self.is_empty() || max == 0 {
            return 0;
        }
        let mut g = self.inner.lock();
        let n = max.min(g.queue.len());
        for _ in 0..n {
            if let Some(item) = g.queue.pop_front() {
                f(item);
            }
        }
        self.len.store(g.queue.len(), Ordering::Release);
        n
    }

    /// Closes the injector: later pushes hand their items back. Returns `false` if it was
    /// already closed.
    pub fn close(&self) -> bool {
        let mut g = self.inner.lock();
        !std::mem::replace(&mut g.closed, true)
    }

    /// Takes every queued item (for the caller to drop outside the lock).
    pub fn drain(&self) -> VecDeque<T> {
        let mut g = self.inner.lock();
        self.len.store(0, Ordering::Release);
        std::mem::take(&mut g.queue)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Inject;

    /// The example of the type's docs (an internal type: no doctest).
    #[test]
    fn push_pop_close() {
        let inject = Inject::new();
        assert!(inject.push(1).is_ok());
        inject.push_batch([2, 3]);
        assert_eq!(inject.len(), 3);
        let mut got = Vec::new();
        inject.pop_batch(2, |x| got.push(x));
        assert_eq!(got, [1, 2]);
        inject.close();
        assert_eq!(inject.push(4), Err(4));
        assert_eq!(inject.pop(), Some(3)); // closing keeps what is queued until drained
    }
}
