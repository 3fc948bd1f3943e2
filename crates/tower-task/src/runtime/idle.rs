//! Idle tracking: how many workers are searching for work and how many are awake, and which
//! ones sleep, so that new work wakes at most one worker and no wake-up is lost.
//!
//! # Who may touch which field
//!
//! - `state` (one word: searching count in the low bits, awake count above): changed only by
//!   read-modify-writes, by any thread. The awake count changes **only while holding the
//!   `sleepers` lock** (a worker going to sleep, a notifier waking one, a worker waking on its
//!   own); the searching count also changes without it (start and stop searching).
//! - `sleepers` (the list of sleeping workers): any thread, under its mutex; nothing runs under
//!   the lock but the list and counter updates.
//! - `sleeping[i]` (worker `i` is in `sleepers`): written only under the lock; read without it
//!   only by worker `i` itself, as a hint it confirms under the lock.
//!
//! # No lost wake-up
//!
//! A thread that publishes work where any worker may take it (the injector) calls
//! [`Idle::worker_to_notify`] afterwards, whose first step is a read-modify-write of `state`. A
//! worker going to sleep decrements `state` (a read-modify-write) and, if it was the last
//! searcher, checks every queue afterwards. The two read-modify-writes are ordered in `state`'s
//! modification order: if the publisher's comes first, the sleeper's acquires it and sees the
//! work; if the sleeper's comes first, the publisher sees no searcher and a sleeper, and wakes
//! one. While some worker searches, publishers wake no one: the searcher finds the work, or, as
//! the last searcher going to sleep, sees it in its final check; a searcher that finds work and
//! was the last one wakes another ([`Idle::transition_from_searching`]).
//!
//! A push to a worker's *own* local queue needs no such guarantee (its owner runs it before it
//! sleeps); it uses [`Idle::worker_to_notify_hint`], a plain load, to spread work cheaply. The
//! wakes a worker's own blocking poll delivers (it is still recorded asleep then) notify no one
//! as they are pushed: the worker notifies once after the poll, when it is awake again (see
//! `worker/work_source.rs`, `after_unpark`), so it never picks itself.
// The items are `pub` for the loom models, which reach the module under `cfg(loom)`; without
// it the module is private.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use std::fmt;

use crate::loom::{AtomicBool, AtomicUsize, Mutex, Ordering};

/// Bits of `state` holding the number of searching workers.
const SEARCH_BITS: u32 = 16;
/// Mask of the searching count.
const SEARCH_MASK: usize = (1 << SEARCH_BITS) - 1;
/// One awake worker, in `state`.
const UNPARKED_ONE: usize = 1 << SEARCH_BITS;

/// The idle/searching bookkeeping of a runtime (see the module docs).
///
/// Its use, as a unit test: `tests::sleep_and_notify`.
pub struct Idle {
    /// Searching count (low bits) and awake count (high bits).
    state: AtomicUsize,
    /// Sleeping workers, most recent last.
    sleepers: Mutex<Vec<usize>>,
    /// `sleeping[i]`: worker `i` is in `sleepers`.
    sleeping: Box<[AtomicBool]>,
    /// Number of workers.
    num_workers: usize,
}

impl fmt::Debug for Idle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idle")
            .field("workers", &self.num_workers)
            .field("searching", &self.num_searching())
            .field("unparked", &self.num_unparked())
            .finish()
    }
}

impl Idle {
    /// Bookkeeping for `num_workers` workers, all awake and none searching.
    pub fn new(num_workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(num_workers * UNPARKED_ONE),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            sleeping: (0..num_workers).map(|_| AtomicBool::new(false)).collect(),
            num_workers,
        }
    }

    /// Workers searching for work now (a hint).
    pub fn num_searching(&self) -> usize {
        self.state.load(Ordering::Acquire) & SEARCH_MASK
    }

    /// Workers awake now (a hint).
    pub fn num_unparked(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SEARCH_BITS
    }

    /// Whether `state` says a sleeper should be woken: no one searches and someone sleeps.
    fn should_wake(&self, state: usize) -> bool {
        state & SEARCH_MASK == 0 && (state >> SEARCH_BITS) < self.num_workers
    }

    /// After publishing work in a shared place: picks a sleeping worker to wake (and counts it
    /// as awake and searching), or `None` if someone searches already or no one sleeps. The
    /// caller wakes the returned worker.
    pub fn worker_to_notify(&self) -> Option<usize> {
        // A read-modify-write, not a load: it orders this check after the caller's publish in
        // `state`'s modification order (module docs).
        let state = self.state.fetch_add(0, Ordering::SeqCst);
        if !self.should_wake(state) {
            return None;
        }
        self.pop_sleeper()
    }

    /// After pushing to the caller's own local queue: like
    /// [`worker_to_notify`](Self::worker_to_notify) but starts with a plain load, since missing
    /// a sleeper here only delays balancing, never loses work.
    pub fn worker_to_notify_hint(&self) -> Option<usize> {
        if !self.should_wake(self.state.load(Ordering::Relaxed)) {
            return None;
        }
        self.pop_sleeper()
    }

    /// Under the lock, re-checks and takes one sleeper, counting it awake and searching.
    fn pop_sleeper(&self) -> Option<usize> {
        let mut sleepers = self.sleepers.lock();
        if !self.should_wake(self.state.load(Ordering::SeqCst)) {
            return None;
        }
        let worker = sleepers.pop()?;
        self.sleeping[worker].store(false, Ordering::Release);
        self.state.fetch_add(UNPARKED_ONE | 1, Ordering::SeqCst);
        Some(worker)
    }

    /// Worker `worker` goes to sleep (it was searching if `was_searching`). Returns `true` if it
    /// was the last searcher: then it must check every queue once more and wake a worker (see
    /// [`worker_to_notify`](Self::worker_to_notify)) if it finds work.
    pub fn transition_to_parked(&self, worker: usize, was_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = UNPARKED_ONE + usize::from(was_searching);
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.push(worker);
        self.sleeping[worker].store(true, Ordering::Release);
        was_searching && prev & SEARCH_MASK == 1
    }

    /// Worker `worker` woke up. Returns `true` if a notifier woke it (it is now counted as
    /// searching), `false` if it woke on its own (timer, I/O) and took itself off the sleepers.
    pub fn transition_from_parked(&self, worker: usize) -> bool {
        if !self.sleeping[worker].load(Ordering::Acquire) {
            return true;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.sleeping[worker].load(Ordering::Acquire) {
            return true;
        }
        if let Some(pos) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(pos);
        }
        self.sleeping[worker].store(false, Ordering::Release);
        self.state.fetch_add(UNPARKED_ONE, Ordering::SeqCst);
        false
    }

    /// An awake worker wants to search (steal). Refused when half the workers search already,
    /// to bound contention on the queues.
    pub fn transition_to_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if 2 * (state & SEARCH_MASK) >= self.num_workers {
            return false;
        }
        // Racy by design: a few more searchers than half is harmless.
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searching worker found work. Returns `true` if it was the last searcher: the caller
    /// must then wake another worker ([`worker_to_notify`](Self::worker_to_notify)) so that the
    /// rest of the work is not left to a sleeping runtime.
    pub fn transition_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, Ordering::SeqCst);
        prev & SEARCH_MASK == 1
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Idle;

    /// The example of the type's docs (an internal type: no doctest).
    #[test]
    fn sleep_and_notify() {
        let idle = Idle::new(2);
        assert_eq!(idle.worker_to_notify(), None); // everyone is awake
        assert!(idle.transition_to_searching());
        assert!(idle.transition_to_parked(1, true)); // the last searcher goes to sleep
        assert_eq!(idle.worker_to_notify(), Some(1)); // new work wakes it, as a searcher
        assert!(idle.transition_from_parked(1)); // it was notified
        assert_eq!(idle.num_searching(), 1);
    }
}
