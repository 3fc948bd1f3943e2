//! A worker: the thread-local state of one worker thread ([`Worker`]) — its LIFO slot, the
//! owner end of its local queue, its searching and sleeping flags — and what it does with them:
//! schedule locally, search other workers' queues, record itself searching or asleep. The
//! loop's side (which runnables to run, when to sleep) is the [`WorkSource`] impl in
//! [`work_source`].
//!
//! # Who may touch which field
//!
//! [`Worker`] lives on its worker thread (`Rc`, `Cell`s): only that thread touches its LIFO
//! slot, its local queue's owner end and its flags. Other threads reach its queue only through
//! `Shared::remotes[i].steal`, and its loop only through `unpark[i]` (see [`Shared`]).
//!
//! [`WorkSource`]: tower_loop::WorkSource

use std::cell::Cell;
use std::fmt;

use tower_loop::AnyRunnable as Runnable;

use super::context::enter_worker;
use super::metrics::{WorkerCounters, bump};
use super::queue::Local;
use super::shared::Shared;
use crate::loom::Arc;

mod work_source;

/// One worker's thread-local state (see the module docs).
pub(crate) struct Worker {
    /// Its index in `shared.remotes`.
    pub(crate) index: usize,
    /// The runtime.
    pub(crate) shared: Arc<Shared>,
    /// The owner end of its local queue.
    local: Local<Runnable>,
    /// The task woken last by a task of this worker: runs right after the task that woke it
    /// (up to [`MAX_LIFO_IN_BATCH`] in a row after each batch item), else after the next batch
    /// item, or first in the next iteration.
    lifo: Cell<Option<Runnable>>,
    /// LIFO tasks still allowed to run after the current batch item (reset when a run of them
    /// ends, and by `fill`); `MAX_LIFO_IN_BATCH - lifo_budget` of them ran in the current run,
    /// and are counted in the metrics when it ends.
    lifo_budget: Cell<u32>,
    /// This worker is counted as searching in `shared.idle`.
    searching: Cell<bool>,
    /// This worker recorded itself as sleeping in `shared.idle` and has not yet woken.
    parked: Cell<bool>,
    /// State of the xorshift generator that picks the first victim of a steal.
    rng: Cell<u32>,
    /// The task registry of this worker's loop (`None` in the loom models, which have no
    /// loops).
    pub(crate) registry: Option<std::sync::Arc<crate::task::Registry>>,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("index", &self.index)
            .field("local", &self.local)
            .field("searching", &self.searching.get())
            .field("parked", &self.parked.get())
            .finish()
    }
}

impl Worker {
    /// Worker `index` of `shared`, owning `local`.
    pub(crate) fn new(
        index: usize,
        shared: Arc<Shared>,
        local: Local<Runnable>,
        registry: Option<std::sync::Arc<crate::task::Registry>>,
    ) -> Worker {
        Worker {
            index,
            shared,
            local,
            lifo: Cell::new(None),
            lifo_budget: Cell::new(MAX_LIFO_IN_BATCH),
            searching: Cell::new(false),
            parked: Cell::new(false),
            rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
            registry,
        }
    }

    /// Runs `f` with this worker current on this thread (local scheduling goes to it, and
    /// [`with_current`](super::context::with_current) finds it), then restores what was
    /// current before, also if `f` unwinds.
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        enter_worker(self, f)
    }

    /// This worker's counters.
    #[inline]
    fn counters(&self) -> &WorkerCounters {
        &self.shared.remotes[self.index].counters
    }

    /// Counts a spawn made on this worker.
    #[inline]
    pub(crate) fn count_spawn(&self) {
        bump(&self.counters().spawned, 1);
    }

    /// Schedules `runnable` on this worker: a yield goes to the back of the local queue, any
    /// other wake to the LIFO slot (its previous occupant to the back of the queue).
    #[inline]
    pub(crate) fn schedule_local(&self, runnable: Runnable, is_yield: bool) {
        let pushed = if is_yield {
            Some(runnable)
        } else {
            self.lifo.replace(Some(runnable))
        };
        if let Some(r) = pushed {
            if self.local.push_back_or_overflow(r, &self.shared.inject) {
                bump(&self.counters().overflows, 1);
            }
            // Spread the queue to a sleeping worker, if any (cheap check first) — unless this
            // worker is itself still recorded asleep: the wake comes from its own blocking
            // poll (an I/O event, while its park word still says parked), where this worker
            // would be a candidate sleeper itself (and write its own eventfd), and where wakes
            // come in batches; `after_unpark` then notifies once for the whole batch.
            if !self.parked.get() {
                if let Some(i) = self.shared.idle.worker_to_notify_hint() {
                    self.shared.unpark(i);
                }
            }
        }
    }

    /// A pseudo-random number below `n` (0 < n <= u32::MAX), without a division (the high
    /// half of `x * n`: a division costs tens of cycles, once per search of a worker about to
    /// park).
    #[inline]
    fn rand(&self, n: usize) -> usize {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        ((u64::from(x) * n as u64) >> 32) as usize
    }

    /// If this worker recorded itself as sleeping, records that it is awake again (searching if
    /// a notifier woke it).
    #[inline]
    fn wake_up(&self) {
        if self.parked.replace(false) {
            let notified = self.shared.idle.transition_from_parked(self.index);
            self.searching.set(notified);
        }
    }

    /// Becomes a searcher (if allowed) and steals from other workers, then tries the injector.
    /// The stolen tasks but the returned one land in the local queue.
    #[inline]
    fn search(&self) -> Option<Runnable> {
        if !self.searching.get() {
            if !self.shared.idle.transition_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let n = self.shared.remotes.len();
        let mut i = self.rand(n);
        for _ in 0..n {
            if i != self.index {
                if let Some(r) = self.shared.remotes[i].steal.steal_into(&self.local) {
                    bump(&self.counters().steals, 1);
                    return Some(r);
                }
            }
            // The next worker, wrapping around (no division).
            i += 1;
            if i == n {
                i = 0;
            }
        }
        self.shared.inject.pop()
    }

    /// Stops searching (work was found); wakes another worker if this was the last searcher.
    #[inline]
    fn end_search(&self) {
        if self.searching.replace(false) && self.shared.idle.transition_from_searching() {
            self.shared.notify_parked();
        }
    }

    /// Drops every task queued on this worker (shutdown).
    pub(crate) fn drain(&self) {
        let lifo = self.lifo.take();
        drop(lifo);
        while let Some(r) = self.local.pop() {
            drop(r);
        }
    }

    /// Whether the LIFO slot holds a task.
    #[inline]
    fn lifo_is_some(&self) -> bool {
        let r = self.lifo.take();
        let some = r.is_some();
        self.lifo.set(r);
        some
    }
}

/// How many LIFO tasks a worker runs in a row after one item of its loop's batch, right after
/// their wakers (tokio's `MAX_LIFO_POLLS_PER_TICK`, which tokio also counts per task taken
/// from the queue): enough for a ping-pong pair or a spawn chain to go on without waiting for
/// the rest of the batch, few enough that the queue behind them is not starved (the next
/// batch item runs after at most this many; a task left in the slot runs after it, or goes to
/// the back of the queue if that item wakes another).
const MAX_LIFO_IN_BATCH: u32 = 3;
