//! [`timeout_scope`] and [`TimeoutHandle`]: a timeout whose body gets a handle to read and move
//! the deadline, asyncio's `async with asyncio.timeout(d) as cm: ... cm.reschedule(...)`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;
use tower_coro::poison_free::{Mutex, MutexGuard};
use tower_loop::Timer;

use super::state::{Start, TimeoutState};
use super::{release, timer_after};
use crate::combinators::error::TimeoutError;

/// Runs `body(handle)` with a deadline `delay` from now (`None`: none yet), where `handle`
/// lets the body — or anyone it is cloned to — read and move the deadline: asyncio's
///
/// ```python
/// async with asyncio.timeout(delay) as cm:
///     cm.reschedule(...)
/// ```
///
/// The deadline does what it does for [`Timeout`](crate::Timeout): the task running the scope is
/// cancelled, and the cancellation that comes back out of the body becomes
/// `Err(TimeoutError)` (unless someone else cancelled the task too; then it goes on). Keep a
/// clone of the handle to ask [`expired`](TimeoutHandle::expired) afterwards. The scope
/// allocates one shared cell for the handle, besides the timer entry.
///
/// # Cancel safety
///
/// As [`timeout`](crate::timeout): dropping the [`TimeoutScope`] drops the body at its last
/// suspension point and withdraws a cancellation it requested that did not come back.
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
    /// Whether the scope's deadline passed (set when it cancels the task, asyncio's EXPIRING).
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
        self.shared.lock()
    }

    /// The deadline (`None`: never), asyncio's `Timeout.when()`.
    pub fn when(&self) -> Option<Instant> {
        self.lock().deadline
    }

    /// Moves the deadline (`None`: never expire), asyncio's `Timeout.reschedule()`. Takes effect
    /// when the scope is next polled: at once if called from its body, else the scope is woken.
    /// A deadline in the past expires the scope at that poll. Does nothing once the scope has
    /// expired or completed (asyncio raises `RuntimeError` there).
    pub fn reschedule(&self, when: Option<Instant>) {
        let waker = {
            let mut st = self.lock();
            if st.done || st.expired {
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

    /// Whether the deadline passed (asyncio's `Timeout.expired()`): true from the moment the
    /// scope cancelled its task, whatever the outcome.
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

    /// Moves `timer` to the deadline asked for if it changed; `polling` is stored as given, and
    /// `waker` kept for a reschedule from outside.
    fn sync_timer(&self, timer: &mut Timer, polling: bool, waker: Option<&Waker>) {
        let moved = {
            let mut st = self.lock();
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

    /// Records that the scope's deadline passed.
    fn set_expired(&self) {
        self.lock().expired = true;
    }

    /// Records that the scope finished.
    fn finish(&self) {
        let mut st = self.lock();
        st.done = true;
        st.polling = false;
        st.waker = None;
    }
}

pin_project! {
    /// The future of [`timeout_scope`] / [`timeout_scope_at`]: the body with a deadline that its
    /// [`TimeoutHandle`] can move. Same deadline rules as [`Timeout`](crate::Timeout).
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the body, cancels the timer entry and withdraws a cancellation it
    /// requested that did not come back; clones of the handle then report the scope as done.
    ///
    /// # Panics
    ///
    /// Polling it where no tower event loop is running panics, and so does polling it again
    /// after it completed with a value or `TimeoutError` ("`TimeoutScope` polled after
    /// completion"); after it raised a cancellation on, a poll raises it again.
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
        state: TimeoutState,
    }

    impl<F> PinnedDrop for TimeoutScope<F> {
        fn drop(this: Pin<&mut Self>) {
            this.handle.finish();
        }
    }
}

impl<F> fmt::Debug for TimeoutScope<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutScope")
            .field("handle", &self.handle)
            .field("done", &self.state.is_done())
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
            state: TimeoutState::new(Start::Poll),
        }
    }

    /// The scope's handle (another clone of the one its body got).
    pub fn handle(&self) -> &TimeoutHandle {
        &self.handle
    }
}

impl<F: Future> Future for TimeoutScope<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let first = match this
            .state
            .begin(this.fut.as_mut(), "`TimeoutScope` polled after completion")
        {
            Ok(first) => first,
            Err(out) => return out,
        };
        let handle = &*this.handle;
        handle.sync_timer(this.timer, true, Some(cx.waker()));
        if !first && this.state.entered() && Pin::new(&mut *this.timer).poll(cx).is_ready() {
            this.state.expire(cx, false);
            handle.set_expired();
        }
        let out = this.state.poll_body(this.fut.as_mut(), cx);
        if this.state.is_done() {
            release(this.timer);
            handle.finish();
            return out;
        }
        // The body may have rescheduled: move the timer before checking it.
        handle.sync_timer(this.timer, false, None);
        if this.state.entered() && Pin::new(&mut *this.timer).poll(cx).is_ready() {
            this.state.expire(cx, true);
            handle.set_expired();
        }
        if first {
            // A scope made outside a loop learns its deadline at its first poll.
            let mut st = handle.lock();
            if !st.changed {
                st.deadline = this.timer.deadline();
            }
        }
        out
    }
}
