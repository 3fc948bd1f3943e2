//! The loop's clock: `Instant::now()`, or a paused virtual clock for tests.
//!
//! A paused clock only moves when the loop has nothing ready and would otherwise block until its
//! next timer (it jumps there), or when a test calls [`EventLoop::advance`](crate::EventLoop::advance).

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Real or virtual time.
#[derive(Debug)]
pub(crate) enum Clock {
    /// `Instant::now()`.
    Real,
    /// Virtual time, starting at the loop's creation.
    Paused {
        /// The current virtual instant.
        now: Cell<Instant>,
    },
}

impl Clock {
    /// A paused clock starting now.
    pub(crate) fn paused() -> Clock {
        Clock::Paused {
            now: Cell::new(Instant::now()),
        }
    }

    /// The current time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Real => Instant::now(),
            Clock::Paused { now } => now.get(),
        }
    }

    /// Whether this is virtual time.
    pub(crate) fn is_paused(&self) -> bool {
        matches!(self, Clock::Paused { .. })
    }

    /// Moves a paused clock forward by `by`; returns `false` on a real clock.
    pub(crate) fn advance(&self, by: Duration) -> bool {
        match self {
            Clock::Real => false,
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
