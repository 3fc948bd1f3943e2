//! [`TowerTimer`]: hyper's `Timer` (keep-alive, header-read and HTTP/2 ping timeouts) on the
//! running loop's timer queue, through tier 2's [`Timer`] future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tower_loop::Timer;

/// hyper's `Timer` on tower timers: its sleeps are [`TowerSleep`]s, its `now` is the running
/// loop's clock (so a paused, virtual clock drives hyper's timeouts too), or the real clock
/// where no loop runs.
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
/// use tower_hyper::TowerTimer;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let start = lp.time();
/// lp.run_until_complete(async { TowerTimer::new().sleep(Duration::from_secs(30)).await }).unwrap();
/// assert_eq!(lp.time() - start, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TowerTimer {
    /// Nothing: the loop is found when a sleep is polled.
    _private: (),
}

impl TowerTimer {
    /// A timer on whichever tower loop polls its sleeps.
    pub fn new() -> TowerTimer {
        TowerTimer::default()
    }
}

impl hyper::rt::Timer for TowerTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TowerSleep {
            timer: Timer::after(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TowerSleep {
            timer: Timer::at(deadline),
        })
    }

    fn now(&self) -> Instant {
        tower_loop::with_running_loop(|lp| lp.time()).unwrap_or_else(|_| Instant::now())
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        // Re-arm our own sleep in place (no allocation); another timer's sleep is replaced.
        match sleep.as_mut().downcast_mut_pin::<TowerSleep>() {
            Some(mut s) => s.timer.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A sleep of [`TowerTimer`]: a tier 2 [`Timer`] whose output hyper does not need.
#[must_use = "futures do nothing unless awaited"]
pub struct TowerSleep {
    /// The loop timer.
    timer: Timer,
}

impl fmt::Debug for TowerSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TowerSleep")
            .field("timer", &self.timer)
            .finish()
    }
}

impl Future for TowerSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.timer).poll(cx).map(drop)
    }
}

impl hyper::rt::Sleep for TowerSleep {}
