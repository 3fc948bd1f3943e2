//! [`Timeout`], the future of [`timeout`], [`timeout_at`] and [`wait_for`]: a body with a
//! deadline that only the owner of the `Timeout` can move.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;
use tower_loop::Timer;

use super::state::{Start, TimeoutState};
use super::{release, timer_after};
use crate::combinators::error::TimeoutError;

/// Runs `fut` with a deadline `delay` from now (asyncio's `async with asyncio.timeout(delay)`):
/// at the deadline the task running it is cancelled, and the cancellation that comes back out
/// of `fut` becomes `Err(TimeoutError)`.
///
/// "Now" is the running loop's clock (virtual time included) when `timeout` is called; outside a
/// loop, the deadline is `delay` from the first poll (and [`Timeout::when`] is `None` until then).
/// What the deadline does, in detail, is on [`Timeout`].
///
/// # Cancel safety
///
/// Dropping the [`Timeout`] drops `fut` at its last suspension point and cancels the timer
/// entry; a cancellation the timeout had requested and not seen come back is withdrawn.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::{EventLoop, Timer};
/// use tower_task::timeout;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// lp.run_until_complete(async {
///     let fast = timeout(Duration::from_secs(1), async { 7 }).await;
///     assert_eq!(fast, Ok(7));
///     let slow = timeout(Duration::from_secs(1), Timer::after(Duration::from_secs(60))).await;
///     assert!(slow.is_err()); // cancelled after one (virtual) second
/// })
/// .unwrap();
/// ```
pub fn timeout<F: IntoFuture>(delay: Duration, fut: F) -> Timeout<F::IntoFuture> {
    Timeout::new(timer_after(delay), fut.into_future(), Start::Poll)
}

/// Runs `fut` with an absolute deadline on the loop's clock (asyncio's `timeout_at(when)`);
/// takes an `Instant`, or `None` for no deadline (that can still be
/// [rescheduled](Timeout::reschedule)).
///
/// # Cancel safety
///
/// As [`timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::{get_running_loop, EventLoop, Timer};
/// use tower_task::timeout_at;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// lp.run_until_complete(async {
///     let now = get_running_loop().unwrap().time();
///     let slow = Timer::after(Duration::from_secs(10));
///     let r = timeout_at(now + Duration::from_secs(5), slow).await;
///     assert!(r.is_err());
///     assert_eq!(timeout_at(None, async { "no deadline" }).await, Ok("no deadline"));
/// })
/// .unwrap();
/// ```
pub fn timeout_at<F: IntoFuture>(
    deadline: impl Into<Option<Instant>>,
    fut: F,
) -> Timeout<F::IntoFuture> {
    let timer = match deadline.into() {
        Some(at) => Timer::at(at),
        None => Timer::never(),
    };
    Timeout::new(timer, fut.into_future(), Start::Poll)
}

/// Waits for `fut` for at most `timeout` (asyncio 3.12's `wait_for(aw, timeout)`, which is
/// `async with timeout(t): return await aw`): the same [`Timeout`] future as [`timeout`], and
/// its arguments in the same order as [`timeout`]'s, the duration first (asyncio puts it
/// second).
///
/// `fut` runs in the caller's task. Given a [`Task`](crate::Task), the deadline's cancellation
/// passes through the handle to the task, which is cancelled and *waited for*: its cleanup has
/// run when `wait_for` returns `Err(TimeoutError)`, and if it catches the cancellation and
/// returns a value, that value is returned (asyncio's `test_wait_for_cancel_suppressed`).
///
/// A zero timeout never polls `fut`: it is dropped and the result is `Err(TimeoutError)`
/// (asyncio 3.12 does not start the coroutine). A `Task` dropped so is detached, not
/// cancelled: asyncio cancels a task given to `wait_for(task, 0)` and waits for it, which
/// [`wait_for_task`](crate::wait_for_task) does.
///
/// # Cancel safety
///
/// As [`timeout`]: dropping the `Timeout` drops `fut` (a `Task` in it is detached).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::{EventLoop, Timer};
/// use tower_task::{error::TimeoutError, wait_for};
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// lp.run_until_complete(async {
///     let r = wait_for(Duration::from_secs(1), Timer::after(Duration::from_secs(2))).await;
///     assert_eq!(r.map(|_| ()), Err(TimeoutError));
/// })
/// .unwrap();
/// ```
pub fn wait_for<F: IntoFuture>(timeout: Duration, fut: F) -> Timeout<F::IntoFuture> {
    let start = if timeout.is_zero() {
        Start::Skip
    } else {
        Start::Poll
    };
    Timeout::new(timer_after(timeout), fut.into_future(), start)
}

pin_project! {
    /// A future with a deadline: [`timeout`], [`timeout_at`], [`wait_for`] (asyncio's
    /// `Timeout` and the `async with` block it guards). Completes with `Ok(output)`, or
    /// `Err(TimeoutError)` once the deadline's cancellation came back out of the inner future.
    ///
    /// # What the deadline does
    ///
    /// As asyncio's `Timeout`:
    ///
    /// 1. At its first poll the timeout records the task polling it and that task's
    ///    [`cancelling()`](crate::TaskRef::cancelling) count (asyncio's `__aenter__`).
    /// 2. At the deadline it cancels that task (`_on_timeout`: counted, like any
    ///    [`cancel`](crate::TaskRef::cancel)). The task delivers the request at its next poll
    ///    to the innermost cancellation-aware await inside the inner future: an awaited
    ///    [`Task`](crate::Task) is cancelled in turn and waited for (its cleanup runs before the
    ///    timeout returns), a [`catch_cancel`](crate::catch_cancel) catches it; with nothing
    ///    aware inside, the timeout takes it itself and drops the inner future.
    /// 3. When the cancellation comes back out of the inner future, the timeout
    ///    [`uncancel`](crate::TaskRef::uncancel)s: if that leaves no more requests than on
    ///    entry, the result is `Err(TimeoutError)`; otherwise someone else cancelled the task
    ///    too, and the cancellation goes on outward (the task ends cancelled unless something
    ///    outside catches it). A cancellation that reaches the timeout before the deadline
    ///    goes on outward as well.
    /// 4. If the inner future catches the cancellation and returns a value, the timeout
    ///    uncancels and returns `Ok(value)`.
    ///
    /// Outside a task (a timeout given straight to `run_until_complete` or `block_on`) there
    /// is no task to cancel: at the deadline the timeout delivers its own request into the
    /// inner future (`tower_coro::cancel::deliver`), with the same rules.
    ///
    /// [`when`](Self::when), [`reschedule`](Self::reschedule) and
    /// [`expired`](Self::expired) are asyncio's. To reschedule from *inside* the future, use
    /// [`timeout_scope`](crate::timeout_scope), whose body gets a
    /// [`TimeoutHandle`](crate::TimeoutHandle).
    ///
    /// # Who wins when the deadline and the result arrive together
    ///
    /// asyncio lets a block run until its first suspension whatever the deadline (a
    /// `timeout(0)` around a block that never awaits returns normally) and, once the deadline
    /// has passed, cancels the block before it resumes. The same here: the first poll
    /// always polls the inner future (so an already-complete future, or one that finishes
    /// without suspending, gives `Ok` even with a deadline in the past); every later poll checks
    /// the deadline *first*, and a timeout that expires does not poll its inner future again
    /// until the cancellation is delivered. So a future woken at the very instant of its
    /// deadline loses (asyncio's timer callback is queued before it), and in nested timeouts
    /// whose deadlines have both passed when the task wakes, both expire and the outer one
    /// reports (asyncio's `test_nested_timeouts`).
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future and cancels the timer entry; a cancellation it had
    /// requested from the task and not seen come back is withdrawn (`uncancel`), so that the
    /// task is not cancelled by a timeout that is gone. Dropping does not wait for anything.
    ///
    /// # Panics
    ///
    /// Polling it where no tower event loop is running panics (there is no clock to wait on),
    /// and so does polling it again after it completed with a value or `TimeoutError`
    /// ("`Timeout` polled after completion", the futures convention); after it raised a
    /// cancellation on, a poll raises it again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_loop::{EventLoop, Timer};
    /// use tower_task::timeout;
    ///
    /// let lp = EventLoop::builder().paused_clock().build().unwrap();
    /// lp.run_until_complete(async {
    ///     // Box::pin makes the inner future Unpin, so the Timeout can be used by `&mut`.
    ///     let inner = Box::pin(Timer::after(Duration::from_secs(3)));
    ///     let mut t = timeout(Duration::from_secs(1), inner);
    ///     let later = t.when().unwrap() + Duration::from_secs(9);
    ///     t.reschedule(Some(later));
    ///     assert!((&mut t).await.is_ok());
    ///     assert!(!t.expired());
    /// })
    /// .unwrap();
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<F> {
        #[pin]
        fut: Option<F>,
        timer: Timer,
        state: TimeoutState,
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("when", &self.timer.deadline())
            .field("expired", &self.state.expired())
            .field("done", &self.state.is_done())
            .finish()
    }
}

impl<F> Timeout<F> {
    /// A timeout of `fut` on `timer`.
    pub(super) fn new(timer: Timer, fut: F, start: Start) -> Self {
        Timeout {
            fut: Some(fut),
            timer,
            state: TimeoutState::new(start),
        }
    }

    /// The deadline (`None`: never), asyncio's `Timeout.when()`.
    pub fn when(&self) -> Option<Instant> {
        self.timer.deadline()
    }

    /// Moves the deadline (`None`: never expire), asyncio's `Timeout.reschedule()`. A deadline
    /// already in the past expires the timeout at its next poll. Does nothing once the timeout
    /// has expired or completed (asyncio raises `RuntimeError` there).
    pub fn reschedule(&mut self, when: Option<Instant>) {
        if !self.state.is_running() {
            return;
        }
        match when {
            Some(at) => self.timer.reset(at),
            None => self.timer = Timer::never(),
        }
    }

    /// Whether the deadline passed (asyncio's `Timeout.expired()`): true from the moment the
    /// timeout cancelled the task, whatever the outcome.
    pub fn expired(&self) -> bool {
        self.state.expired()
    }

    /// Whether it has completed: with a value, `TimeoutError`, or a cancellation it passed on.
    pub fn is_terminated(&self) -> bool {
        self.state.is_done()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let first = match this
            .state
            .begin(this.fut.as_mut(), "`Timeout` polled after completion")
        {
            Ok(first) => first,
            Err(out) => return out,
        };
        if !first && this.state.entered() && Pin::new(&mut *this.timer).poll(cx).is_ready() {
            this.state.expire(cx, false);
        }
        let out = this.state.poll_body(this.fut.as_mut(), cx);
        if this.state.is_done() {
            // asyncio's `__aexit__` cancels the timer handle.
            release(this.timer);
        } else if first && this.state.entered() && Pin::new(&mut *this.timer).poll(cx).is_ready() {
            this.state.expire(cx, true);
        }
        out
    }
}
