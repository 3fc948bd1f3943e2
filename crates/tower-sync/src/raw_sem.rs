//! The fair counting semaphore under `Lock`, `Semaphore` and `BoundedSemaphore`: an atomic
//! fast path when nobody waits, and direct hand-off to the oldest waiter when someone does.
//!
//! `state` is `permits << 1 | WAITERS`, `permits` being the free permits (asyncio's `_value`).
//! Invariants, kept under the `waiters` mutex (the only place the `WAITERS` bit changes):
//! - `WAITERS` is set exactly when the wait list holds an entry: a queued waiter, or one that
//!   was granted a permit and whose future has not taken it yet (asyncio keeps such a waiter
//!   in `_waiters` until its task runs). While it is set, `locked()` is true and the fast
//!   paths are closed, so a newcomer cannot barge past the queue nor past a granted waiter
//!   that has not resumed (asyncio's FIFO rule, gh-90155);
//! - while `WAITERS` is set only lock holders change `state` (the fast paths' compare-exchange
//!   fails on the bit), so under the mutex the count is stable;
//! - a release hands its permit to the oldest queued waiter (marking it notified); with only
//!   granted waiters left it adds the permit to the free count, for them to pass on;
//! - free permits and queued waiters coexist only while some granted waiter has not resumed:
//!   when a granted waiter takes its permit or is dropped, and when a queued one leaves, free
//!   permits go to the queued waiters in order (asyncio's "wake up as many as are allowed");
//! - a notified waiter owns one permit: taking it completes its acquire; dropping it instead
//!   gives the permit back, to the next queued waiter (a cancelled waiter loses nothing).

use std::task::{Context, Poll, Waker};

use crate::loom::{AtomicUsize, Mutex, Ordering};
use crate::waitlist::{Removed, WaitList, wake_all};

/// Set while the wait list holds an entry, queued or granted (see the module docs).
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

    /// Free permits (asyncio's `_value`): none while waiters are queued, but possibly some
    /// while granted waiters have not resumed yet (those permits wait for them to pass on).
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> 1
    }

    /// True when an acquire would wait: no free permit, or waiters queued or granted ahead.
    pub(crate) fn locked(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & WAITERS != 0 || s < ONE
    }

    /// How many acquirers are queued (not counting granted ones that have not resumed).
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
            return self.poll_queued(key, k, cx);
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

    /// Polls a queued acquire: done once it was granted a permit; on the way out, passes spare
    /// permits to those queued behind it.
    fn poll_queued(&self, key: &mut Option<usize>, k: usize, cx: &mut Context<'_>) -> Poll<()> {
        let mut list = self.waiters.lock();
        if list.take_notified(k).is_none() {
            list.set_waker(k, cx.waker());
            return Poll::Pending;
        }
        *key = None;
        let mut wakers = Vec::new();
        self.settle(&mut list, &mut wakers);
        drop(list);
        wake_all(wakers);
        Poll::Ready(())
    }

    /// The acquire at `key` was dropped: leave the queue, or pass on the permit it was given.
    pub(crate) fn cancel(&self, key: usize) {
        let mut list = self.waiters.lock();
        let mut next = None;
        if let Removed::Notified(()) = list.remove(key) {
            // Give the permit back as a release would; with free permits already at the
            // bound (an explicit release refilled it) the permit is simply not added.
            next = self.release_locked(&mut list).1;
        }
        let mut wakers = Vec::new();
        self.settle(&mut list, &mut wakers);
        drop(list);
        if let Some(w) = next {
            w.wake();
        }
        wake_all(wakers);
    }

    /// After a waiter left the list (took its grant, or was dropped): free permits go to the
    /// queued waiters in order, and the `WAITERS` bit clears once the list is idle. Runs under
    /// the lock with the bit set (the leaving waiter's entry kept it set until now). Pushes to
    /// `wakers` only when spare permits meet queued waiters, so the usual case allocates nothing.
    fn settle(&self, list: &mut WaitList<()>, wakers: &mut Vec<Waker>) {
        let mut s = self.state.load(Ordering::Acquire);
        while s >= ONE && !list.is_empty() {
            s = self.state.fetch_sub(ONE, Ordering::AcqRel) - ONE;
            wakers.extend(list.notify_one(()));
        }
        if list.is_idle() {
            self.state.fetch_and(!WAITERS, Ordering::Release);
        }
    }

    /// Returns one permit: to the oldest waiter if any, else to the free count unless that is
    /// already at the bound; false (and nothing changed) in that case.
    pub(crate) fn release(&self) -> bool {
        let bound = self.bound;
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 {
                match self.release_slow() {
                    Some(released) => return released,
                    None => s = self.state.load(Ordering::Relaxed),
                }
                continue;
            }
            if s >> 1 >= bound {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s + ONE, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// A release with the `WAITERS` bit seen set; `None` if it cleared meanwhile (then the
    /// caller retries the fast path).
    #[cold]
    fn release_slow(&self) -> Option<bool> {
        let mut list = self.waiters.lock();
        if self.state.load(Ordering::Acquire) & WAITERS == 0 {
            return None;
        }
        let (released, next) = self.release_locked(&mut list);
        drop(list);
        if let Some(w) = next {
            w.wake();
        }
        Some(released)
    }

    /// A release under the lock with the `WAITERS` bit set: the oldest queued waiter gets the
    /// permit; with none queued (only granted waiters that have not resumed) it joins the free
    /// count, bound permitting, where newcomers cannot take it before those waiters resume.
    /// Returns whether the permit was released, and the waker to call after unlocking.
    fn release_locked(&self, list: &mut WaitList<()>) -> (bool, Option<Waker>) {
        if !list.is_empty() {
            return (true, list.notify_one(()));
        }
        if self.state.load(Ordering::Acquire) >> 1 >= self.bound {
            return (false, None);
        }
        self.state.fetch_add(ONE, Ordering::AcqRel);
        (true, None)
    }
}
