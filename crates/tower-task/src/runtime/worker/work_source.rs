//! The work-source hook: the [`WorkSource`] impl a worker installs on its thread's event loop,
//! which the loop calls once per iteration for runnables, after each task for the next one in
//! the batch, and around blocking.
//!
//! # One iteration of a worker's loop
//!
//! The loop asks [`Worker::fill`] for runnables once per iteration: the LIFO slot first, then
//! the local queue, and one task from the injector every iteration for fairness. Within the
//! batch, after each task the loop asks [`Worker::next_in_batch`] for the task it woke into the
//! LIFO slot and runs it at once (at most `MAX_LIFO_IN_BATCH` in a row after each batch item,
//! so a ping-pong pair cannot starve the queue behind it). A worker with nothing local takes
//! a batch from the injector, else steals half of another worker's queue (if fewer than half
//! the workers are searching already). When the loop is about to block,
//! [`Worker::before_park`] makes a last search, then records the worker as sleeping (see
//! [`idle`](super::super::idle)); the loop then blocks in its reactor, so timers and I/O keep
//! working, and a notifier wakes it through the loop's cross-thread wake-up (a syscall only if
//! it is really blocked). The wakes that blocking poll delivers land in the worker's own queues
//! without notifying anyone (the worker is still recorded asleep); [`Worker::after_unpark`]
//! then wakes one sleeper if they left more than the LIFO slot holds (docs/decisions/
//! 0011-multi-thread-io.md, "Needless wake-ups").

use tower_loop::AnyRunnable as Runnable;
use tower_loop::WorkSource;

use super::{MAX_LIFO_IN_BATCH, Worker};
use crate::runtime::metrics::bump;

impl WorkSource for Worker {
    fn next_in_batch(&self) -> Option<Runnable> {
        let left = self.lifo_budget.get();
        let r = if left == 0 { None } else { self.lifo.take() };
        match r {
            Some(r) => {
                self.lifo_budget.set(left - 1);
                Some(r)
            }
            None => {
                // The loop's run of LIFO tasks after this batch item ends here (the loop asks
                // until it gets `None`): count its polls at once, and give the next batch item
                // a fresh budget.
                if left != MAX_LIFO_IN_BATCH {
                    bump(&self.counters().polls, u64::from(MAX_LIFO_IN_BATCH - left));
                    self.lifo_budget.set(MAX_LIFO_IN_BATCH);
                }
                None
            }
        }
    }

    fn fill(&self, push: &mut dyn FnMut(Runnable), budget: usize) -> bool {
        self.wake_up();
        self.lifo_budget.set(MAX_LIFO_IN_BATCH);
        let mut n = 0;
        // Fairness: one task from the injector per iteration, when there is one.
        if let Some(r) = self.shared.inject.pop() {
            push(r);
            n += 1;
        }
        if let Some(r) = self.lifo.take() {
            push(r);
            n += 1;
        }
        n = self.pop_local_into(push, n, budget);
        if n == 0 {
            let workers = self.shared.remotes.len();
            let want = (self.shared.inject.len() / workers + 1).min(budget);
            n += self.shared.inject.pop_batch(want, &mut *push);
            if n == 0 {
                if let Some(r) = self.search() {
                    push(r);
                    n = self.pop_local_into(push, 1, budget);
                }
            }
        }
        if n > 0 {
            self.end_search();
            bump(&self.counters().polls, n as u64);
        }
        // Tasks that just ran may wake others into our queues: ask again before blocking.
        n > 0
    }

    fn before_park(&self) -> bool {
        self.wake_up();
        if self.lifo_is_some() || !self.local.is_empty() || !self.shared.inject.is_empty() {
            return false;
        }
        if let Some(r) = self.search() {
            self.lifo.set(Some(r));
            return false;
        }
        let was_searching = self.searching.replace(false);
        let last = self
            .shared
            .idle
            .transition_to_parked(self.index, was_searching);
        self.parked.set(true);
        bump(&self.counters().parks, 1);
        if last && self.shared.work_pending() {
            // May pick this very worker: its loop then polls once more instead of blocking.
            self.shared.notify_parked();
        }
        true
    }

    fn after_unpark(&self) {
        self.wake_up();
        // The wakes of the poll that just returned went to this worker's queues without a
        // notification (`schedule_local` defers it while the worker is recorded asleep): if
        // they left more than the LIFO slot holds, and this worker is not a searcher (whose
        // first find wakes the next one, `end_search`), wake one sleeper to share them, as
        // tokio does after its driver's batch. A read-modify-write check (`notify_parked`):
        // once per park, not per wake.
        if !self.searching.get() && !self.local.is_empty() {
            self.shared.notify_parked();
        }
    }
}

impl Worker {
    /// Pushes runnables from the local queue until `budget` in all (counting the `n` already
    /// pushed) or the queue is empty; returns the new count.
    #[inline]
    fn pop_local_into(&self, push: &mut dyn FnMut(Runnable), mut n: usize, budget: usize) -> usize {
        while n < budget {
            match self.local.pop() {
                Some(r) => {
                    push(r);
                    n += 1;
                }
                None => break,
            }
        }
        n
    }
}
