//! The loop's clock: `Instant::now()`, or a paused virtual clock for tests; and the time cached
//! for one iteration, which new deadlines are measured from.
//!
//! A paused clock only moves when the loop has nothing ready and would otherwise block until its
//! next timer (it jumps there), or when a test calls [`EventLoop::advance`](crate::EventLoop::advance).
//!
//! # One clock read per iteration (docs/decisions/0010-timer-clock-and-cancellation.md)
//!
//! Within an iteration's batch the real clock is read at most once, lazily: the first
//! [`Clock::cached_now`] after [`Clock::start_batch`] reads it (firing due timers does, when
//! any are pending; else the first timer scheduled), and every later one in the batch returns
//! that value, until [`Clock::end_batch`]. `call_later`, [`Timer`](crate::Timer) and tier 4's
//! `timeout` measure their deadlines from it, so timers scheduled in one batch with equal
//! delays share one deadline (and fire in scheduling order). A callback that runs long makes
//! the cached value stale for the callbacks after it in the batch: their deadlines are relative
//! to the loop's time of the batch, as tokio's timers are relative to its driver's cached time.
//! Outside a batch (before a run, between runs) `cached_now` reads the clock.
//! [`EventLoop::time`](crate::EventLoop::time) always reads it (asyncio's `loop.time()`).
//! A paused clock is never cached: its value is a load, and `advance` is seen at once.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Real or virtual time.
#[derive(Debug)]
pub(crate) enum Clock {
    /// `Instant::now()`, read at most once per batch by [`Clock::cached_now`].
    Real {
        /// Inside a batch: `Some(None)` until the first [`Clock::cached_now`], then
        /// `Some(Some(now))`. Outside a batch: `None` (every read is fresh).
        batch: Cell<Option<Option<Instant>>>,
    },
    /// Virtual time, starting at the loop's creation.
    Paused {
        /// The current virtual instant.
        now: Cell<Instant>,
    },
}

impl Clock {
    /// The real clock, outside a batch.
    pub(crate) fn real() -> Clock {
        Clock::Real {
            batch: Cell::new(None),
        }
    }

    /// A paused clock starting now.
    pub(crate) fn paused() -> Clock {
        Clock::Paused {
            now: Cell::new(Instant::now()),
        }
    }

    /// The current time (a fresh read of the real clock).
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Real { .. } => Instant::now(),
            Clock::Paused { now } => now.get(),
        }
    }

    /// The loop's time for new deadlines: within a batch, the clock as read at the batch's
    /// first call (see the module docs); outside a batch, the clock now.
    #[inline]
    pub(crate) fn cached_now(&self) -> Instant {
        match self {
            Clock::Real { batch } => match batch.get() {
                Some(Some(now)) => now,
                Some(None) => {
                    let now = Instant::now();
                    batch.set(Some(Some(now)));
                    now
                }
                None => Instant::now(),
            },
            Clock::Paused { now } => now.get(),
        }
    }

    /// An iteration's batch starts (after the loop's wait): the next [`cached_now`](Self::cached_now)
    /// reads the clock and the batch keeps that value.
    #[inline(always)]
    pub(crate) fn start_batch(&self) {
        if let Clock::Real { batch } = self {
            batch.set(Some(None));
        }
    }

    /// The batch ended: reads are fresh again until the next [`start_batch`](Self::start_batch).
    #[inline(always)]
    pub(crate) fn end_batch(&self) {
        if let Clock::Real { batch } = self {
            batch.set(None);
        }
    }

    /// Whether this is virtual time.
    pub(crate) fn is_paused(&self) -> bool {
        matches!(self, Clock::Paused { .. })
    }

    /// Moves a paused clock forward by `by`; returns `false` on a real clock.
    pub(crate) fn advance(&self, by: Duration) -> bool {
        match self {
            Clock::Real { .. } => false,
            Clock::Paused { now } => {
                now.set(now.get() + by);
                true
            }
        }
    }

    /// Moves a paused clock forward to `to` (never backward).
    pub(crate) fn advance_to(&self, to: Instant) {
        if let Clock::Paused { now } = self {
            if to > now.get() {
                now.set(to);
            }
        }
    }
}
