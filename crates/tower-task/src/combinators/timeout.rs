//! `timeout`, `timeout_at`, `wait_for` and `timeout_scope`: run a future against a deadline on the
//! running loop's clock (asyncio's `timeouts.py` and `wait_for`).
//!
//! In asyncio a timeout cancels the task at the deadline and turns the resulting
//! `CancelledError` into `TimeoutError` when the `async with` block exits. Here cancellation is
//! drop: at the deadline the inner future is dropped in place (before the [`Timeout`] returns)
//! and the caller gets `Err(TimeoutError)`. Each deadline is one [`tower_loop::Timer`] entry,
//! cancelled when the timeout completes or is dropped; [`Timeout`] allocates nothing else.
//!
//! Who wins when the deadline and the result arrive together is documented on [`Timeout`].

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;
use tower_loop::Timer;

use super::error::TimeoutError;
use crate::error::TaskError;
use crate::{Task, TaskRef};

/// Runs `fut` with a deadline `delay` from now; at the deadline `fut` is dropped and the result
/// is `Err(TimeoutError)` (asyncio's `async with asyncio.timeout(delay)`).
///
/// "Now" is the running loop's clock (virtual time included) when `timeout` is called; outside a
/// loop, the deadline is `delay` from the first poll (and [`Timeout::when`] is `None` until then).
///
/// # Cancel safety
///
/// Dropping the [`Timeout`] drops `fut` and cancels the timer entry. Expiry drops `fut` at its
/// last suspension point, exactly as dropping it would: work in flight inside `fut` is lost
/// unless `fut` is itself cancel-safe.
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
///     assert!(slow.is_err()); // dropped after one (virtual) second
/// })
/// .unwrap();
/// ```
pub fn timeout<F: IntoFuture>(delay: Duration, fut: F) -> Timeout<F::IntoFuture> {
    Timeout::new(timer_after(delay), fut.into_future())
}

/// A timer `delay` from now by the running loop's clock (so its deadline is known at once), or,
/// outside a loop, `delay` from its first poll.
pub(crate) fn timer_after(delay: Duration) -> Timer {
    match tower_loop::get_running_loop() {
        Ok(lp) => lp
            .time()
            .checked_add(delay)
            .map_or_else(Timer::never, Timer::at),
        Err(_) => Timer::after(delay),
    }
}

/// Runs `fut` with an absolute deadline on the loop's clock (asyncio's `timeout_at(when)`);
/// takes an `Instant`, or `None` for no deadline (that can still be
/// [rescheduled](Timeout::reschedule)).
///
/// # Cancel safety
///
/// As [`timeout`]: dropping the [`Timeout`], or its expiry, drops `fut` at its last suspension
/// point.
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
    Timeout::new(timer, fut.into_future())
}

/// Waits for `fut` for at most `timeout` (asyncio's `wait_for(aw, timeout)`); the same
/// [`Timeout`] future as [`timeout`], arguments in asyncio's order.
///
/// As in asyncio 3.12, `wait_for` is "`timeout` around one await": `fut` runs in the caller's
/// task. Given a [`Task`], expiry drops the handle, which *detaches* the task (it runs on, as a
/// shielded task does in asyncio); [`wait_for_task`] cancels it instead, as asyncio's `wait_for`
/// does. Unlike asyncio's special case for `timeout <= 0`, a zero timeout still polls `fut` once:
/// a ready future or finished task gives its value (as in asyncio), and a future that does not
/// complete in that poll is dropped (asyncio would not start a coroutine at all).
///
/// # Cancel safety
///
/// On expiry, or if the `Timeout` is dropped, `fut` is dropped at its last suspension point
/// before `wait_for` returns.
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
///     let r = wait_for(Timer::after(Duration::from_secs(2)), Duration::from_secs(1)).await;
///     assert_eq!(r.map(|_| ()), Err(TimeoutError));
/// })
/// .unwrap();
/// ```
pub fn wait_for<F: IntoFuture>(fut: F, timeout: Duration) -> Timeout<F::IntoFuture> {
    self::timeout(timeout, fut)
}

/// Waits for a *task* for at most `timeout`, cancelling it on expiry — and if the wait itself is
/// dropped — as asyncio's `wait_for(task, timeout)` does (`test_wait_for`, and Python issue
/// #23219: cancelling the wait cancels the task).
///
/// [`wait_for`] given a [`Task`] only drops the handle on expiry, which *detaches* the task (the
/// tower's rule: a dropped handle detaches); use this to get asyncio's cancellation instead.
/// The output is the task's own outcome inside the timeout's: `Ok(Ok(v))`, `Ok(Err(TaskError))`
/// if the task was cancelled or panicked meanwhile, `Err(TimeoutError)` on expiry.
///
/// # Cancel safety
///
/// On expiry, or if the returned future is dropped, the task is cancelled (`TaskRef::cancel`):
/// its future is dropped at its next poll. A task already done is left as it is.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::{sleep, spawn, wait_for_task};
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// lp.run_until_complete(async {
///     let t = spawn(async { sleep(Duration::from_secs(60)).await });
///     let probe = t.task_ref().clone();
///     assert!(wait_for_task(t, Duration::from_secs(1)).await.is_err());
///     sleep(Duration::from_secs(1)).await;
///     assert!(probe.cancelled());
/// })
/// .unwrap();
/// ```
pub fn wait_for_task<T>(task: Task<T>, timeout: Duration) -> Timeout<CancelOnDrop<T>> {
    self::timeout(timeout, CancelOnDrop { task })
}

/// A task handle that cancels its task if dropped before the task is done (asyncio's awaiting
/// side of cancellation: a cancelled awaiter cancels what it awaits). Made by
/// [`wait_for_task`], or `CancelOnDrop::from(task)`. Awaiting it gives the task's outcome.
///
/// # Cancel safety
///
/// Dropping it cancels the task unless the task is done.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{spawn, CancelOnDrop};
///
/// let lp = EventLoop::new().unwrap();
/// let v = lp.run_until_complete(async { CancelOnDrop::from(spawn(async { 2 })).await });
/// assert_eq!(v.unwrap().unwrap(), 2);
/// ```
#[must_use = "dropping it cancels the task; await it to get the output"]
pub struct CancelOnDrop<T> {
    /// The task.
    task: Task<T>,
}

impl<T> fmt::Debug for CancelOnDrop<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelOnDrop")
            .field("task", &self.task)
            .finish()
    }
}

impl<T> From<Task<T>> for CancelOnDrop<T> {
    fn from(task: Task<T>) -> Self {
        CancelOnDrop { task }
    }
}

impl<T> CancelOnDrop<T> {
    /// The task's untyped handle.
    pub fn task_ref(&self) -> &TaskRef {
        self.task.task_ref()
    }
}

impl<T> Future for CancelOnDrop<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// If polled again after it completed.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        if !self.task.done() {
            self.task.cancel(Some(WAIT_CANCEL_MSG));
        }
    }
}

/// Message given to a task cancelled by [`wait_for_task`].
const WAIT_CANCEL_MSG: &str = "wait_for timed out or was cancelled";

pin_project! {
    /// A future with a deadline: [`timeout`], [`timeout_at`], [`wait_for`] (asyncio's
    /// `Timeout`). Completes with `Ok(output)` or, at the deadline, `Err(TimeoutError)` after
    /// dropping the inner future.
    ///
    /// [`when`](Self::when), [`reschedule`](Self::reschedule) and
    /// [`expired`](Self::expired) are asyncio's. To reschedule from *inside* the future, use
    /// [`timeout_scope`], whose body gets a [`TimeoutHandle`].
    ///
    /// # Who wins when the deadline and the result arrive together
    ///
    /// asyncio lets a block run until its first suspension whatever the deadline (a
    /// `timeout(0)` around a block that never awaits returns normally) and, once the deadline
    /// has passed, cancels the block at its next resumption. The same here: the first poll
    /// always polls the inner future (so an already-complete future, or one that finishes
    /// without suspending, gives `Ok` even with a deadline in the past); every later poll checks
    /// the deadline *first*. So in nested timeouts whose deadlines have both passed when the
    /// task wakes, the outer one reports and the inner future is dropped unpolled (asyncio's
    /// `test_nested_timeouts_concurrent`), and a future woken at the very instant of its
    /// deadline loses (asyncio's timer callback is queued before it).
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future and cancels the timer entry.
    ///
    /// # Panics
    ///
    /// Polling it where no tower event loop is running panics (there is no clock to wait on).
    /// Polling it again after it completed does not panic: it gives `Err(TimeoutError)` again.
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
        polled: bool,
        expired: bool,
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("when", &self.timer.deadline())
            .field("expired", &self.expired)
            .field("done", &self.fut.is_none())
            .finish()
    }
}

impl<F> Timeout<F> {
    /// A timeout of `fut` on `timer`.
    fn new(timer: Timer, fut: F) -> Self {
        Timeout {
            fut: Some(fut),
            timer,
            polled: false,
            expired: false,
        }
    }

    /// The deadline (`None`: never), asyncio's `Timeout.when()`.
    pub fn when(&self) -> Option<Instant> {
        self.timer.deadline()
    }

    /// Moves the deadline (`None`: never expire), asyncio's `Timeout.reschedule()`. A deadline
    /// already in the past expires the timeout at its next poll. Does nothing once the timeout
    /// has completed or expired (asyncio raises there; nothing is left to reschedule).
    pub fn reschedule(&mut self, when: Option<Instant>) {
        if self.fut.is_none() {
            return;
        }
        match when {
            Some(at) => self.timer.reset(at),
            None => self.timer = Timer::never(),
        }
    }

    /// Whether the deadline passed and the inner future was dropped for it (asyncio's
    /// `Timeout.expired()`).
    pub fn expired(&self) -> bool {
        self.expired
    }

    /// Whether it has completed, by result or by expiry.
    pub fn is_terminated(&self) -> bool {
        self.fut.is_none()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            // Completed already: report the same way again rather than panic.
            return Poll::Ready(Err(TimeoutError));
        };
        let first = !std::mem::replace(this.polled, true);
        if !first && Pin::new(&mut *this.timer).poll(cx).is_ready() {
            *this.expired = true;
            this.fut.set(None);
            return Poll::Ready(Err(TimeoutError));
        }
        if let Poll::Ready(out) = fut.poll(cx) {
            this.fut.set(None);
            return Poll::Ready(Ok(out));
        }
        if first && Pin::new(&mut *this.timer).poll(cx).is_ready() {
            *this.expired = true;
            this.fut.set(None);
            return Poll::Ready(Err(TimeoutError));
        }
        Poll::Pending
    }
}

/// Runs `body(handle)` with a deadline `delay` from now (`None`: none yet), where `handle`
/// lets the body — or anyone it is cloned to — read and move the deadline: asyncio's
///
/// ```python
/// async with asyncio.timeout(delay) as cm:
///     cm.reschedule(...)
/// ```
///
/// Completes with `Ok(body's output)` or, at the deadline, `Err(TimeoutError)` after dropping the
/// body. Keep a clone of the handle to ask [`expired`](TimeoutHandle::expired) afterwards. The
/// scope allocates one shared cell for the handle, besides the timer entry.
///
/// # Cancel safety
///
/// Dropping the [`TimeoutScope`], or its expiry, drops the body at its last suspension point.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::{EventLoop, Timer};
/// use tower_task::timeout_scope;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// lp.run_until_complete(async {
///     let r = timeout_scope(None, |cm| async move {
///         // Decide the deadline from inside, as with `cm.reschedule(...)`.
///         cm.reschedule(Some(cm.now() + Duration::from_secs(1)));
///         Timer::after(Duration::from_secs(5)).await;
///     })
///     .await;
///     assert!(r.is_err());
/// })
/// .unwrap();
/// ```
pub fn timeout_scope<B, F>(delay: Option<Duration>, body: B) -> TimeoutScope<F::IntoFuture>
where
    B: FnOnce(TimeoutHandle) -> F,
    F: IntoFuture,
{
    let timer = match delay {
        Some(d) => timer_after(d),
        None => Timer::never(),
    };
    TimeoutScope::new(timer, body)
}

/// [`timeout_scope`] with an absolute deadline (`None`: none yet), asyncio's
/// `async with asyncio.timeout_at(when) as cm`.
///
/// # Cancel safety
///
/// As [`timeout_scope`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::{EventLoop, Timer};
/// use tower_task::timeout_scope_at;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// lp.run_until_complete(async {
///     let r = timeout_scope_at(Some(lp_now() + Duration::from_secs(1)), |cm| async move {
///         cm.reschedule(None); // never mind the deadline
///         Timer::after(Duration::from_secs(5)).await;
///         "finished"
///     })
///     .await;
///     assert_eq!(r, Ok("finished"));
/// })
/// .unwrap();
/// # fn lp_now() -> std::time::Instant { tower_loop::get_running_loop().unwrap().time() }
/// ```
pub fn timeout_scope_at<B, F>(deadline: Option<Instant>, body: B) -> TimeoutScope<F::IntoFuture>
where
    B: FnOnce(TimeoutHandle) -> F,
    F: IntoFuture,
{
    let timer = match deadline {
        Some(at) => Timer::at(at),
        None => Timer::never(),
    };
    TimeoutScope::new(timer, body)
}

/// The state a [`TimeoutHandle`] shares with its [`TimeoutScope`].
#[derive(Debug)]
struct ScopeState {
    /// The deadline the handle asked for.
    deadline: Option<Instant>,
    /// Set by `reschedule`, cleared when the scope moved its timer.
    changed: bool,
    /// Whether the scope expired.
    expired: bool,
    /// Whether the scope has completed (then `reschedule` does nothing).
    done: bool,
    /// Whether the scope is inside a poll of its body (then `reschedule` need not wake it).
    polling: bool,
    /// The scope's waker, for a reschedule from outside the body.
    waker: Option<Waker>,
}

/// The handle of a [`timeout_scope`] (asyncio's `Timeout` object, `cm` in
/// `async with timeout(d) as cm`): read or move the deadline, ask whether it expired. `Clone`,
/// `Send` and `Sync`; it may outlive the scope.
///
/// ```
/// use std::time::Duration;
/// use tower_loop::{EventLoop, Timer};
/// use tower_task::timeout_scope;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// lp.run_until_complete(async {
///     let mut saved = None;
///     let r = timeout_scope(Some(Duration::from_secs(1)), |cm| {
///         saved = Some(cm.clone());
///         Timer::after(Duration::from_secs(2))
///     })
///     .await;
///     assert!(r.is_err());
///     assert!(saved.unwrap().expired());
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct TimeoutHandle {
    /// Shared with the scope.
    shared: Arc<Mutex<ScopeState>>,
}

impl fmt::Debug for TimeoutHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("TimeoutHandle")
            .field("when", &st.deadline)
            .field("expired", &st.expired)
            .field("done", &st.done)
            .finish()
    }
}

impl TimeoutHandle {
    /// Locks the shared state, ignoring poisoning (no user code runs under this lock).
    fn lock(&self) -> MutexGuard<'_, ScopeState> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The deadline (`None`: never), asyncio's `Timeout.when()`.
    pub fn when(&self) -> Option<Instant> {
        self.lock().deadline
    }

    /// Moves the deadline (`None`: never expire), asyncio's `Timeout.reschedule()`. Takes effect
    /// when the scope is next polled: at once if called from its body, else the scope is woken.
    /// A deadline in the past expires the scope at that poll. Does nothing once the scope has
    /// completed or expired (asyncio raises `RuntimeError` there).
    pub fn reschedule(&self, when: Option<Instant>) {
        let waker = {
            let mut st = self.lock();
            if st.done {
                return;
            }
            st.deadline = when;
            st.changed = true;
            if st.polling { None } else { st.waker.take() }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the deadline passed and the body was dropped for it (asyncio's
    /// `Timeout.expired()`).
    pub fn expired(&self) -> bool {
        self.lock().expired
    }

    /// The running loop's clock (to compute a deadline for [`reschedule`](Self::reschedule));
    /// `Instant::now()` outside a loop.
    pub fn now(&self) -> Instant {
        tower_loop::get_running_loop()
            .map(|lp| lp.time())
            .unwrap_or_else(|_| Instant::now())
    }
}

pin_project! {
    /// The future of [`timeout_scope`] / [`timeout_scope_at`]: the body with a deadline that its
    /// [`TimeoutHandle`] can move. Same deadline rules as [`Timeout`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the body and cancels the timer entry; clones of the handle then report
    /// the scope as done (not expired).
    ///
    /// # Panics
    ///
    /// Polling it where no tower event loop is running panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{timeout_scope, TimeoutScope};
    ///
    /// let lp = EventLoop::builder().paused_clock().build().unwrap();
    /// let scope: TimeoutScope<_> = timeout_scope(None, |_cm| async { 1 });
    /// assert_eq!(lp.run_until_complete(scope).unwrap(), Ok(1));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TimeoutScope<F> {
        #[pin]
        fut: Option<F>,
        timer: Timer,
        handle: TimeoutHandle,
        polled: bool,
    }

    impl<F> PinnedDrop for TimeoutScope<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut st = this.handle.lock();
            st.done = true;
            st.waker = None;
        }
    }
}

impl<F> fmt::Debug for TimeoutScope<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutScope")
            .field("handle", &self.handle)
            .field("done", &self.fut.is_none())
            .finish()
    }
}

impl<F> TimeoutScope<F> {
    /// A scope on `timer` whose body is `body(handle)`.
    fn new<B, I>(timer: Timer, body: B) -> Self
    where
        B: FnOnce(TimeoutHandle) -> I,
        I: IntoFuture<IntoFuture = F>,
    {
        let handle = TimeoutHandle {
            shared: Arc::new(Mutex::new(ScopeState {
                deadline: timer.deadline(),
                changed: false,
                expired: false,
                done: false,
                polling: false,
                waker: None,
            })),
        };
        let fut = body(handle.clone()).into_future();
        TimeoutScope {
            fut: Some(fut),
            timer,
            handle,
            polled: false,
        }
    }

    /// The scope's handle (another clone of the one its body got).
    pub fn handle(&self) -> &TimeoutHandle {
        &self.handle
    }
}

/// Moves `timer` to the handle's deadline if it changed; `polling` is stored as given.
fn sync_timer(handle: &TimeoutHandle, timer: &mut Timer, polling: bool, waker: Option<&Waker>) {
    let moved = {
        let mut st = handle.lock();
        st.polling = polling;
        if let Some(w) = waker {
            match &st.waker {
                Some(old) if old.will_wake(w) => {}
                _ => st.waker = Some(w.clone()),
            }
        }
        if std::mem::replace(&mut st.changed, false) {
            Some(st.deadline)
        } else {
            None
        }
    };
    match moved {
        Some(Some(at)) => timer.reset(at),
        Some(None) => *timer = Timer::never(),
        None => {}
    }
}

/// Marks the scope finished (`expired` as given).
fn finish(handle: &TimeoutHandle, expired: bool) {
    let mut st = handle.lock();
    st.done = true;
    st.expired = expired;
    st.polling = false;
    st.waker = None;
}

impl<F: Future> Future for TimeoutScope<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if this.fut.is_none() {
            return Poll::Ready(Err(TimeoutError));
        }
        let first = !std::mem::replace(this.polled, true);
        sync_timer(this.handle, this.timer, true, Some(cx.waker()));
        if !first && Pin::new(&mut *this.timer).poll(cx).is_ready() {
            finish(this.handle, true);
            this.fut.set(None);
            return Poll::Ready(Err(TimeoutError));
        }
        let polled = this.fut.as_mut().as_pin_mut().map(|f| f.poll(cx));
        if let Some(Poll::Ready(out)) = polled {
            finish(this.handle, false);
            this.fut.set(None);
            return Poll::Ready(Ok(out));
        }
        // The body may have rescheduled: move the timer before checking it.
        sync_timer(this.handle, this.timer, false, None);
        if Pin::new(&mut *this.timer).poll(cx).is_ready() {
            finish(this.handle, true);
            this.fut.set(None);
            return Poll::Ready(Err(TimeoutError));
        }
        if first {
            // A scope made outside a loop learns its deadline at its first poll.
            let mut st = this.handle.lock();
            if !st.changed {
                st.deadline = this.timer.deadline();
            }
        }
        Poll::Pending
    }
}
