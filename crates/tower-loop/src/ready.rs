//! [`ReadyQueue`]: what the loop runs next — plain callbacks and tasks (`AnyRunnable`s) side by
//! side, FIFO — and the work other threads hand over to it ([`Remote`], through the injector).
//!
//! Callbacks are reference-counted cells holding the closure and its cancelled flag (one
//! allocation per `call_soon`, see `callback.rs`); a runnable is pushed as is (no allocation
//! beyond the task).
//!
//! # One FIFO
//!
//! asyncio has one ready queue: `call_soon`, `call_soon_threadsafe` and task wake-ups run in
//! the order they were made, whichever thread made them. The tower keeps the loop-thread path
//! free of locks and read-modify-writes by giving other threads their own queue (the
//! injector), and merges the two by draining the injector into the ready queue *before every
//! local push* — when the park word says something was handed over, one relaxed load
//! otherwise ([`ReadyQueue::push`]) — and at the start
//! of each iteration, before the reactor's events are queued. Whatever another thread handed
//! over before a local push (what the loop thread can know to be earlier) is then queued
//! ahead of it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use crate::any_runnable::AnyRunnable;
use crate::callback::{Callback, SendCallback};
use crate::loop_handle::Shared;
use crate::timer_queue::{TimerId, TimerQueue};

/// One entry of the ready queue.
pub(crate) enum Ready {
    /// A loop-thread callback (`call_soon`, a fired `call_later`, a reader/writer).
    Callback(Rc<dyn Callback>),
    /// A callback sent from another thread.
    Remote(Arc<dyn SendCallback>),
    /// A task to poll.
    Runnable(AnyRunnable),
    /// A wake-up of `run_until_complete`'s own future (the run's number: a stale one, left
    /// from an earlier run, is skipped).
    Main(u64),
    /// `LoopHandle::stop` from another thread: sets the loop stopping when its turn comes.
    Stop,
}

/// The ready queue's room that [`ReadyQueue::trim`] always keeps (entries: 24 KiB).
const KEEP: usize = 1024;

/// The loop-local FIFO of ready work. Its state changes only through its methods.
#[derive(Default)]
pub(crate) struct ReadyQueue {
    /// The entries, oldest first; borrowed only inside the methods below, never across a call
    /// out of this module.
    queue: RefCell<VecDeque<Ready>>,
    /// The loop was closed: nothing more is queued. Closing a loop is closing its ready queue
    /// (as its injector is closed), so the loop's other parts ask here too
    /// ([`Core::is_closed`](crate::core::Core::is_closed)).
    closed: Cell<bool>,
}

impl ReadyQueue {
    /// Appends `item`, after whatever other threads handed over before (see "One FIFO"): the
    /// injector is drained first if the park word says it was pushed to — a relaxed load when
    /// it was not, no lock and no read-modify-write. Does not look at `closed`: for the loop's
    /// own pushes while it runs (a running loop is not closed).
    #[inline(always)]
    pub(crate) fn push(&self, item: Ready, shared: &Shared, timers: &TimerQueue) {
        if shared.park().is_set() {
            self.drain_remote(shared, timers);
        }
        self.queue.borrow_mut().push_back(item);
    }

    /// [`push`](Self::push) unless the loop is closed: takes the value out of `slot` and
    /// queues it as `into` makes it an entry; on a closed loop leaves it in `slot`, for the
    /// caller to cancel, drop or send elsewhere. The one place where the closed check and the
    /// push go together.
    #[inline(always)]
    pub(crate) fn push_if_open<T>(
        &self,
        slot: &mut Option<T>,
        into: impl FnOnce(T) -> Ready,
        shared: &Shared,
        timers: &TimerQueue,
    ) {
        if self.closed.get() {
            return;
        }
        if let Some(value) = slot.take() {
            self.push(into(value), shared, timers);
        }
    }

    /// Appends `item` without looking at the injector: for the iteration's own pushes (due
    /// timers, reactor events, the work source), which follow a collection of remote work.
    #[inline(always)]
    pub(crate) fn push_after_collect(&self, item: Ready) {
        self.queue.borrow_mut().push_back(item);
    }

    /// [`push`](Self::push)'s rare path: something was handed over.
    #[cold]
    #[inline(never)]
    fn drain_remote(&self, shared: &Shared, timers: &TimerQueue) {
        if shared.park().begin_collect() {
            self.collect_remote(shared, timers);
        }
    }

    /// Moves the work other threads handed over into the queue, in the order it was handed
    /// over (bounded by what was there when it started); a timer cancellation is applied to
    /// `timers` at once.
    #[inline(never)]
    pub(crate) fn collect_remote(&self, shared: &Shared, timers: &TimerQueue) {
        let n = shared.remote_len();
        for _ in 0..n {
            let Some(item) = shared.pop_remote() else {
                break;
            };
            let item = match item {
                Remote::Runnable(r) => Ready::Runnable(r),
                Remote::Callback(cb) => Ready::Remote(cb),
                Remote::Main(id) => Ready::Main(id),
                Remote::Stop => Ready::Stop,
                Remote::CancelTimer(id) => {
                    timers.cancel(id);
                    continue;
                }
            };
            self.queue.borrow_mut().push_back(item);
        }
    }

    /// The oldest entry, removed.
    #[inline(always)]
    pub(crate) fn pop(&self) -> Option<Ready> {
        self.queue.borrow_mut().pop_front()
    }

    /// Gives memory back after a burst: once the queue holds less than a quarter of its room and
    /// the room is more than [`KEEP`] entries, it shrinks to twice what it holds (or `KEEP`).
    /// Called once per iteration, after the batch; the quarter rule keeps a queue that
    /// oscillates near one size from reallocating every iteration. (asyncio's deque frees its
    /// blocks as it drains; without this, spawning 10^5 tasks at once would keep 2.4 MiB of
    /// queue room for the loop's life.)
    #[inline(always)]
    pub(crate) fn trim(&self) {
        let queue = self.queue.borrow();
        let (len, cap) = (queue.len(), queue.capacity());
        if cap > KEEP && len < cap / 4 {
            drop(queue);
            self.shrink(len);
        }
    }

    /// The slow path of [`trim`](Self::trim).
    #[cold]
    #[inline(never)]
    fn shrink(&self, len: usize) {
        self.queue.borrow_mut().shrink_to((len * 2).max(KEEP));
    }

    /// How many entries are queued.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// Whether nothing is queued.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.borrow().is_empty()
    }

    /// Whether the loop was closed.
    #[inline(always)]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Marks the loop closed; returns whether it already was.
    pub(crate) fn close(&self) -> bool {
        self.closed.replace(true)
    }

    /// Drops every entry (loop close and drop), after the borrow is released.
    pub(crate) fn clear(&self) {
        let entries = std::mem::take(&mut *self.queue.borrow_mut());
        drop(entries);
    }
}

/// What other threads push into a loop's injector.
pub(crate) enum Remote {
    /// A task woken from another thread.
    Runnable(AnyRunnable),
    /// `call_soon_threadsafe`.
    Callback(Arc<dyn SendCallback>),
    /// Cancel a timer entry of this loop (a [`Timer`](crate::Timer) dropped or moved elsewhere).
    CancelTimer(TimerId),
    /// `LoopHandle::stop` from another thread.
    Stop,
    /// `run_until_complete`'s future woken from another thread (the run's number).
    Main(u64),
}

#[cfg(test)]
mod tests {
    use super::{KEEP, Ready, ReadyQueue};

    /// Capacity of `q`'s buffer.
    fn room(q: &ReadyQueue) -> usize {
        q.queue.borrow().capacity()
    }

    #[test]
    fn trim_gives_back_room_after_a_burst_and_keeps_a_floor() {
        let q = ReadyQueue::default();
        for _ in 0..100 * KEEP {
            q.queue.borrow_mut().push_back(Ready::Stop);
        }
        let burst = room(&q);
        // Still mostly full: nothing to give back.
        q.trim();
        assert_eq!(room(&q), burst);
        while q.len() > 10 {
            q.pop();
        }
        q.trim();
        assert!(room(&q) >= KEEP && room(&q) < 2 * KEEP, "room {}", room(&q));
        assert_eq!(q.len(), 10, "entries survive the shrink");
        // A small queue is never shrunk below the floor.
        let before = room(&q);
        q.trim();
        assert_eq!(room(&q), before);
    }
}
