//! The fair counting semaphore under `Lock`, `Semaphore` and `BoundedSemaphore`: an atomic
//! fast path when nobody waits, and direct hand-off to the oldest waiter when someone does.
//!
//! `state` is `permits << 1 | WAITERS`. Invariants (kept under the `waiters` mutex, which is
//! the only place the `WAITERS` bit changes):
//! - `WAITERS` is set exactly when the wait list is non-empty;
//! - while `WAITERS` is set, the free permit count is zero: a release hands its permit to the
//!   oldest waiter (marking it notified) instead of adding it, so a newcomer cannot barge past
//!   the queue (asyncio's FIFO order);
//! - a notified waiter owns one permit: taking it completes its acquire; dropping it instead
//!   releases the permit, which goes to the next waiter (a cancelled waiter loses nothing).

use std::task::{Context, Poll};

use crate::loom::{AtomicUsize, Mutex, Ordering};
use crate::waitlist::{Removed, WaitList};

/// Set while the wait list is non-empty.
const WAITERS: usize = 1;
/// One permit, in `state` units.
const ONE: usize = 2;
/// The most permits a semaphore can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 1;

/// The semaphore core; see the module docs.
#[derive(Debug)]
pub(crate) struct RawSemaphore {
    /// `permits << 1 | WAITERS`.
    state: AtomicUsize,
    /// The waiters, in arrival order; each grant is one permit.
    waiters: Mutex<WaitList<()>>,
    /// The most free permits a release may leave (`MAX_PERMITS` unless bounded).
    bound: usize,
}

impl RawSemaphore {
    /// A semaphore with `permits` free permits (at most [`MAX_PERMITS`]).
    pub(crate) fn new(permits: usize) -> Self {
        Self::with_bound(permits, MAX_PERMITS)
    }

    /// A semaphore with `permits` free permits whose releases never leave more than `bound`
    /// free (`BoundedSemaphore`).
    pub(crate) fn with_bound(permits: usize, bound: usize) -> Self {
        let permits = permits.min(MAX_PERMITS);
        Self {
            state: AtomicUsize::new(permits << 1),
            waiters: Mutex::new(WaitList::new()),
            bound: bound.min(MAX_PERMITS),
        }
    }

    /// The bound releases respect.
    pub(crate) fn bound(&self) -> usize {
        self.bound
    }

    /// Free permits (zero while anyone waits).
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> 1
    }

    /// True when an acquire would wait: no free permit, or waiters ahead.
    pub(crate) fn locked(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & WAITERS != 0 || s < ONE
    }

    /// How many acquirers are queued.
    pub(crate) fn waiters(&self) -> usize {
        self.waiters.lock().len()
    }

    /// Takes a permit if one is free and nobody waits.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 || s < ONE {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s - ONE, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Polls an acquire whose queue position is `key`.
    pub(crate) fn poll_acquire(&self, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(k) = *key {
            let mut list = self.waiters.lock();
            if list.take_notified(k).is_some() {
                *key = None;
                return Poll::Ready(());
            }
            list.set_waker(k, cx.waker());
            return Poll::Pending;
        }
        if self.try_acquire() {
            return Poll::Ready(());
        }
        let mut list = self.waiters.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 {
                break;
            }
            let (new, ordering) = if s >= ONE {
                (s - ONE, Ordering::Acquire)
            } else {
                (s | WAITERS, Ordering::Relaxed)
            };
            match self
                .state
                .compare_exchange_weak(s, new, ordering, Ordering::Relaxed)
            {
                Ok(_) if s >= ONE => return Poll::Ready(()),
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        *key = Some(list.push_back(cx.waker().clone(), 0));
        Poll::Pending
    }

    /// The acquire at `key` was dropped: leave the queue, or pass on the permit it was given.
    pub(crate) fn cancel(&self, key: usize) {
        let mut list = self.waiters.lock();
        match list.remove(key) {
            Removed::Notified(()) => {
                drop(list);
                // The permit was taken from the count, so giving it back cannot exceed the bound.
                self.release();
            }
            Removed::Waiting => {
                if list.is_empty() {
                    self.state.fetch_and(!WAITERS, Ordering::Relaxed);
                }
            }
        }
    }

    /// Returns one permit: to the oldest waiter if any, else to the free count unless that is
    /// already at the bound; false (and nothing changed) in that case.
    pub(crate) fn release(&self) -> bool {
        let bound = self.bound;
        loop {
            let mut s = self.state.load(Ordering::Relaxed);
            while s & WAITERS == 0 {
                if s >> 1 >= bound {
                    return false;
                }
                match self.state.compare_exchange_weak(
                    s,
                    s + ONE,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(actual) => s = actual,
                }
            }
            if self.hand_off() {
                return true;
            }
        }
    }

    /// With waiters: hands one permit to the oldest. False if the queue emptied meanwhile
    /// (then the bit is clear and the caller retries the fast path).
    #[cold]
    fn hand_off(&self) -> bool {
        let mut list = self.waiters.lock();
        let Some(waker) = list.notify_one(()) else {
            return false;
        };
        if list.is_empty() {
            // No change of `state` can race this one: the bit is set and we hold the lock.
            self.state.fetch_and(!WAITERS, Ordering::Release);
        }
        drop(list);
        waker.wake();
        true
    }
}
