//! [`sleep`] and [`sleep_until`]: asyncio's `sleep` on the running loop's timers (virtual time
//! included).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tower_loop::Timer;

/// Completes after `delay` by the running loop's clock (asyncio's `sleep`). `sleep(ZERO)`
/// still suspends once, like asyncio's `sleep(0)`.
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::sleep;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let start = lp.time();
/// lp.run_until_complete(sleep(Duration::from_secs(60))).unwrap();
/// assert_eq!(lp.time() - start, Duration::from_secs(60)); // virtual: no minute passed
/// ```
///
/// # Cancel safety
///
/// Dropping a `Sleep` cancels its timer entry; nothing else is lost.
///
/// # Panics
///
/// Polled where no tower event loop runs.
pub fn sleep(delay: Duration) -> Sleep {
    Sleep {
        timer: Timer::after(delay),
        yielded: false,
        zero: delay.is_zero(),
    }
}

/// Completes at `deadline` by the running loop's clock.
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::sleep_until;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let deadline = lp.time() + Duration::from_secs(5);
/// lp.run_until_complete(sleep_until(deadline)).unwrap();
/// assert!(lp.time() >= deadline);
/// ```
///
/// # Cancel safety
///
/// Dropping a `Sleep` cancels its timer entry; nothing else is lost.
///
/// # Panics
///
/// Polled where no tower event loop runs.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        timer: Timer::at(deadline),
        yielded: false,
        zero: false,
    }
}

/// The future of [`sleep`]/[`sleep_until`].
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// The loop timer.
    timer: Timer,
    /// `sleep(0)` already yielded once.
    yielded: bool,
    /// This is `sleep(0)`.
    zero: bool,
}

impl Sleep {
    /// When it completes (`None`: never, the delay overflowed).
    pub fn deadline(&self) -> Option<Instant> {
        self.timer.deadline()
    }

    /// Moves the deadline (tokio's `Sleep::reset`).
    pub fn reset(&mut self, deadline: Instant) {
        self.zero = false;
        self.timer.reset(deadline);
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.timer.deadline())
            .finish()
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.zero {
            if self.yielded {
                return Poll::Ready(());
            }
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        }
    }
}
