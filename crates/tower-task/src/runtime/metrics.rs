//! Runtime metrics: tasks spawned, polls, steals, queue depths, park/unpark counts.
//!
//! # Who may touch which field
//!
//! Each `WorkerCounters` field except `unparks` is written only by its worker thread, with a
//! relaxed load and store (no read-modify-write on the hot path); `unparks` is incremented by
//! whichever thread wakes the worker. Anyone may read them, relaxed: a snapshot is a hint, not a
//! consistent cut.

use std::fmt;

use crate::loom::{Ordering, StatU64};

/// The live counters of one worker (see the module docs).
#[derive(Default)]
pub(crate) struct WorkerCounters {
    /// `Send` tasks spawned from this worker.
    pub(crate) spawned: StatU64,
    /// Task polls this worker ran (runnables handed to its loop).
    pub(crate) polls: StatU64,
    /// Successful steals from other workers.
    pub(crate) steals: StatU64,
    /// Times the local queue overflowed into the injector.
    pub(crate) overflows: StatU64,
    /// Times the worker went to sleep.
    pub(crate) parks: StatU64,
    /// Times another thread woke the worker.
    pub(crate) unparks: StatU64,
}

/// Adds `n` to an owner-written counter (a load and a store: one writer, no RMW needed).
#[inline]
pub(crate) fn bump(counter: &StatU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// A snapshot of one worker's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// `Send` tasks spawned from code running on this worker.
    pub spawned: u64,
    /// Task polls run by this worker. The polls of the tasks it runs from its LIFO slot right
    /// after their wakers are counted when such a run ends (at most three), so a snapshot
    /// taken while the worker is busy may lag by that many.
    pub polls: u64,
    /// Successful steals (each moves up to half of another worker's queue).
    pub steals: u64,
    /// Times the local queue was full and moved half of itself to the injector.
    pub overflows: u64,
    /// Times the worker went to sleep.
    pub parks: u64,
    /// Times another thread woke the worker for new work.
    pub unparks: u64,
    /// Tasks in the worker's local queue at the time of the snapshot.
    pub local_queue_depth: usize,
}

impl WorkerMetrics {
    /// Reads `counters` (and the queue depth given).
    pub(crate) fn read(counters: &WorkerCounters, depth: usize) -> WorkerMetrics {
        let get = |c: &StatU64| c.load(Ordering::Relaxed);
        WorkerMetrics {
            spawned: get(&counters.spawned),
            polls: get(&counters.polls),
            steals: get(&counters.steals),
            overflows: get(&counters.overflows),
            parks: get(&counters.parks),
            unparks: get(&counters.unparks),
            local_queue_depth: depth,
        }
    }
}

/// A snapshot of a runtime's metrics ([`Runtime::metrics`](super::Runtime::metrics)).
///
/// ```
/// use tower_task::runtime::RuntimeBuilder;
///
/// let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
/// rt.block_on(rt.spawn(async { 1 })).unwrap().unwrap();
/// let m = rt.metrics();
/// assert_eq!(m.workers.len(), 2);
/// assert_eq!(m.spawned(), 1);
/// assert!(m.polls() >= 1);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Tasks spawned from outside the workers (through the injector).
    pub spawned_remote: u64,
    /// Tasks in the global injector at the time of the snapshot.
    pub injector_depth: usize,
    /// `Send` tasks alive (spawned, not yet completed or dropped) at the time of the snapshot.
    pub live_tasks: usize,
    /// Workers searching for work at the time of the snapshot.
    pub searching: usize,
    /// Workers awake at the time of the snapshot.
    pub unparked: usize,
    /// One entry per worker, by index.
    pub workers: Vec<WorkerMetrics>,
}

impl RuntimeMetrics {
    /// All `Send` tasks spawned on the runtime.
    pub fn spawned(&self) -> u64 {
        self.spawned_remote + self.workers.iter().map(|w| w.spawned).sum::<u64>()
    }

    /// All task polls, over all workers.
    pub fn polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }

    /// All successful steals.
    pub fn steals(&self) -> u64 {
        self.workers.iter().map(|w| w.steals).sum()
    }

    /// All times a worker went to sleep.
    pub fn parks(&self) -> u64 {
        self.workers.iter().map(|w| w.parks).sum()
    }

    /// All times a worker was woken for new work.
    pub fn unparks(&self) -> u64 {
        self.workers.iter().map(|w| w.unparks).sum()
    }
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("spawned", &self.spawned())
            .field("polls", &self.polls())
            .field("steals", &self.steals())
            .field("parks", &self.parks())
            .field("unparks", &self.unparks())
            .field("injector_depth", &self.injector_depth)
            .field("live_tasks", &self.live_tasks)
            .field("workers", &self.workers)
            .finish()
    }
}
