//! [`Timer`]: a waker-based sleep future on the running loop's timer queue, for tier 4's `sleep`,
//! `timeout` and `wait_for`.
//!
//! Registering stores one timer entry (deadline + waker) in the loop's slab; re-polling with the
//! same waker costs nothing; dropping cancels the entry. A `Timer` is `Send`: if the task owning
//! it is polled on another loop's thread (the multi-threaded runtime moves tasks), the timer
//! registers with that loop and cancels its old entry through the old loop's [`LoopHandle`]
//! (a message on its injector; no lock).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::context;
use crate::loop_handle::LoopHandle;
use crate::timer_queue::{Payload, TimerId};

/// Completes at a deadline by the running loop's clock (virtual time included).
///
/// ```
/// use std::time::Duration;
/// use tower_loop::{EventLoop, Timer};
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let start = lp.time();
/// let fired = lp.run_until_complete(Timer::after(Duration::from_secs(5))).unwrap();
/// assert_eq!(fired - start, Duration::from_secs(5));
/// ```
///
/// # Panics
///
/// Polling a `Timer` where no tower loop is running panics (there is no clock to wait on).
#[must_use = "futures do nothing unless awaited"]
pub struct Timer {
    /// When it fires.
    deadline: Deadline,
    /// The loop and entry it is registered with, if any.
    registration: Option<(LoopHandle, TimerId)>,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.deadline)
            .field("registered", &self.registration.is_some())
            .finish()
    }
}

/// When a [`Timer`] fires.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// Never.
    Never,
    /// This long after its first poll (resolved then, by the polling loop's clock, as
    /// `asyncio.sleep` measures from when it runs).
    After(Duration),
    /// At this instant.
    At(Instant),
}

impl Timer {
    /// Fires `delay` from now (by the running loop's clock if there is one).
    ///
    /// The delay is measured from the first poll, by the polling loop's
    /// [`iteration_time`](crate::EventLoop::iteration_time), so a timer created before the loop
    /// starts still waits the whole delay.
    pub fn after(delay: Duration) -> Timer {
        Timer {
            deadline: Deadline::After(delay),
            registration: None,
        }
    }

    /// Fires at `deadline`.
    pub fn at(deadline: Instant) -> Timer {
        Timer {
            deadline: Deadline::At(deadline),
            registration: None,
        }
    }

    /// Never fires.
    pub fn never() -> Timer {
        Timer {
            deadline: Deadline::Never,
            registration: None,
        }
    }

    /// When it fires; `None` if it never fires or is a not-yet-polled [`Timer::after`].
    pub fn deadline(&self) -> Option<Instant> {
        match self.deadline {
            Deadline::At(at) => Some(at),
            Deadline::Never | Deadline::After(_) => None,
        }
    }

    /// Moves the deadline to `deadline` (a fired timer fires again then).
    pub fn reset(&mut self, deadline: Instant) {
        self.deregister();
        self.deadline = Deadline::At(deadline);
    }

    /// Moves the deadline to `delay` from its next poll.
    pub fn reset_after(&mut self, delay: Duration) {
        self.deregister();
        self.deadline = Deadline::After(delay);
    }

    /// Cancels the pending entry, wherever it is.
    fn deregister(&mut self) {
        if let Some((handle, id)) = self.registration.take() {
            handle.cancel_timer(id);
        }
    }
}

impl Future for Timer {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let this = &mut *self;
        let core = context::current();
        let Some(core) = core else {
            panic!("tower_loop::Timer polled outside a running tower event loop");
        };
        // The iteration's cached time (one clock read per iteration, not per timer).
        let now = core.clock().cached_now();
        // `Some(delay)`: the deadline was resolved now, `delay` after `now`.
        let mut after = None;
        let deadline = match this.deadline {
            Deadline::Never => return Poll::Pending,
            Deadline::At(at) => at,
            Deadline::After(d) => {
                let at = now.checked_add(d);
                this.deadline = at.map_or(Deadline::Never, Deadline::At);
                after = Some(d);
                match at {
                    Some(at) => at,
                    None => return Poll::Pending,
                }
            }
        };
        if now >= deadline {
            // Most often the entry fired already: a cancel that need not touch the slab.
            if let Some((handle, id)) = this.registration.take() {
                if handle.is_shared(core.shared()) {
                    core.timers().cancel_expired(id, deadline);
                } else {
                    handle.cancel_timer(id);
                }
            }
            return Poll::Ready(deadline);
        }
        if let Some((handle, id)) = &this.registration {
            if handle.is_shared(core.shared()) && core.timers().update_waker(*id, cx.waker()) {
                return Poll::Pending;
            }
        }
        this.deregister();
        let payload = Payload::Waker(cx.waker().clone());
        let id = match after {
            Some(delay) => core.timers().insert_after(now, delay, payload),
            None => core.timers().insert(deadline, payload),
        };
        this.registration = Some((LoopHandle::from_shared(core.shared().clone()), id));
        Poll::Pending
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.deregister();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use super::Timer;
    use crate::EventLoop;

    /// Polls the timer once (registering it on the running loop), then completes.
    struct PollOnce<'a>(Pin<&'a mut Timer>);

    impl Future for PollOnce<'_> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            assert!(self.0.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        }
    }

    /// A timer dropped on another thread (a task that moved to another worker) cancels its
    /// entry without waking the loop it was registered on; the loop takes the cancellation at
    /// its next iteration.
    #[test]
    fn cancel_from_another_thread_does_not_wake_the_loop() {
        let lp = EventLoop::new().unwrap();
        let mut timer = Box::pin(Timer::after(Duration::from_secs(60)));
        lp.run_until_complete(PollOnce(timer.as_mut())).unwrap();
        assert_eq!(lp.core().timers().len(), 1);
        std::thread::spawn(move || drop(timer)).join().unwrap();
        let park = lp.core().shared().park();
        assert!(!park.is_notified(), "the cancellation asked for a wake-up");
        assert!(park.is_set(), "the cancellation was not posted");
        lp.run_until_complete(async {}).unwrap();
        assert_eq!(lp.core().timers().len(), 0);
    }
}
