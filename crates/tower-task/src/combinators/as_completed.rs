//! `as_completed`: a stream of the outputs of several futures, in the order they complete
//! (asyncio's `as_completed`), optionally with an overall deadline.
//!
//! Each future is polled only when its own waker fired, so a completion costs O(1) however many
//! are still waiting. Futures passed in are owned by the stream: dropping the stream drops those
//! not yet complete — for spawned tasks that means *detaching* them (they run on, as asyncio's
//! tasks do after an `as_completed` timeout), for plain futures it means dropping them.
//!
//! Cancellation, as asyncio's: when the task waiting for the next item is cancelled, the
//! cancellation is raised there at once (the stream takes the request on entry to `poll_next`
//! and raises it, so a [`catch_cancel`](crate::catch_cancel) around the wait catches it) and the
//! futures are not told: they are polled with nothing in flight (`tower_coro::cancel::isolate`),
//! so an awaited task is never cancelled through the stream, and they stay in the stream.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tower_coro::Stream;
use tower_coro::cancel;
use tower_loop::Timer;

use super::error::TimeoutError;
use super::set::FutureSet;
use crate::error::Cancelled;

/// Yields the outputs of `futures` as they complete (asyncio's `as_completed(aws)`), then ends.
///
/// Want to know which one finished? Tag them: `futs.map(|(i, f)| async move { (i, f.await) })`.
/// For an overall deadline, [`AsCompleted::with_timeout`].
///
/// # Cancellation
///
/// As asyncio's `as_completed`: cancelling the task that waits for the next item raises the
/// cancellation at that wait at once; the futures are not told and stay in the stream, so after
/// catching it (around `next(&mut stream)`) the stream can be polled on:
///
/// ```
/// use std::time::Duration;
/// use tower_coro::stream;
/// use tower_task::{as_completed, catch_cancel, run, sleep, spawn};
///
/// run(async {
///     let awaiter = spawn(async {
///         let mut s = as_completed([spawn(async { sleep(Duration::from_secs(5)).await; 5 })]);
///         assert!(catch_cancel(stream::next(&mut s)).await.is_err()); // raised at once
///         stream::next(&mut s).await.unwrap().unwrap() // the task ran on
///     });
///     sleep(Duration::from_secs(1)).await;
///     awaiter.cancel();
///     assert_eq!(awaiter.await.unwrap(), 5);
/// })
/// .unwrap();
/// ```
///
/// # Cancel safety
///
/// The outputs already yielded are the caller's; dropping the stream drops the futures still
/// running (a dropped task handle detaches its task). Between two items no output is held back:
/// if several complete in the same loop iteration, the rest stay in their futures until the next
/// `poll_next`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_coro::stream;
/// use tower_loop::{EventLoop, Timer};
/// use tower_task::as_completed;
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let order = lp
///     .run_until_complete(async {
///         let futs = [3u64, 1, 2].map(|s| async move {
///             Timer::after(Duration::from_secs(s)).await;
///             s
///         });
///         stream::collect(as_completed(futs)).await
///     })
///     .unwrap();
/// assert_eq!(order, [1, 2, 3]);
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    AsCompleted {
        set: FutureSet::from_iter(futures.into_iter().map(IntoFuture::into_future)),
    }
}

/// The stream of [`as_completed`]: outputs in completion order.
///
/// # Cancellation
///
/// Cancelling the task waiting for its next item raises the cancellation there at once; the
/// futures are not told (see [`as_completed`]).
///
/// # Cancel safety
///
/// Dropping it drops the futures not yet complete.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, stream};
/// use tower_task::{as_completed, AsCompleted};
///
/// let s: AsCompleted<_> = as_completed([std::future::ready(1), std::future::ready(2)]);
/// assert_eq!(s.len(), 2);
/// // Futures that need no loop can be driven by any executor.
/// let mut all: Vec<i32> = block_on(stream::collect(s));
/// all.sort();
/// assert_eq!(all, [1, 2]);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F: Future> {
    /// The futures still running.
    set: FutureSet<F>,
}

impl<F: Future> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.set.len())
            .finish()
    }
}

impl<F: Future> AsCompleted<F> {
    /// How many futures have not completed yet.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether every future has completed (the stream is over).
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Adds an overall deadline `delay` from now (asyncio's `as_completed(aws, timeout=...)`):
    /// items become `Result`s, and at the deadline the stream yields one `Err(TimeoutError)`,
    /// drops the futures still running, and ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_coro::stream;
    /// use tower_loop::{EventLoop, Timer};
    /// use tower_task::{as_completed, error::TimeoutError};
    ///
    /// let lp = EventLoop::builder().paused_clock().build().unwrap();
    /// let got = lp
    ///     .run_until_complete(async {
    ///         let futs = [1u64, 10].map(|s| async move {
    ///             Timer::after(Duration::from_secs(s)).await;
    ///             s
    ///         });
    ///         let s = as_completed(futs).with_timeout(Duration::from_secs(5));
    ///         stream::collect(s).await
    ///     })
    ///     .unwrap();
    /// assert_eq!(got, [Ok(1), Err(TimeoutError)]);
    /// ```
    pub fn with_timeout(self, delay: Duration) -> AsCompletedTimeout<F> {
        AsCompletedTimeout {
            inner: self,
            timer: Some(super::timeout::timer_after(delay)),
            expired: false,
        }
    }
}

impl<F: Future> Unpin for AsCompleted<F> {}

impl<F: Future> AsCompleted<F> {
    /// Polls the futures woken since the last call for the next output (the stream's poll,
    /// without its cancellation check). The futures are polled with nothing in flight: the
    /// awaiter's cancellation is not theirs. A cancellation raised out of one of them (one
    /// that re-raises a cancellation it caught) is returned as `Err`, for the caller to raise
    /// on outward, as it would go from an `.await`.
    fn poll_set(&mut self, cx: &mut Context<'_>) -> Result<Poll<Option<F::Output>>, Cancelled> {
        if self.set.is_empty() {
            return Ok(Poll::Ready(None));
        }
        let mut item = None;
        let (_, raised) = cancel::isolate(|| {
            self.set.poll_each(cx, |_, out| {
                item = Some(out);
                false
            })
        });
        if let Some(c) = raised {
            return Err(c);
        }
        Ok(match item {
            Some(out) => Poll::Ready(Some(out)),
            None if self.set.is_empty() => Poll::Ready(None),
            None => Poll::Pending,
        })
    }
}

/// The awaiter of the next item is being cancelled: raises it there at once (asyncio's
/// `as_completed`: the futures are not told). `true` if it did.
fn raise_request() -> bool {
    match cancel::take() {
        Some(c) => {
            cancel::raise(c);
            true
        }
        None => false,
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        if raise_request() {
            return Poll::Pending;
        }
        match self.get_mut().poll_set(cx) {
            Ok(Poll::Pending) => {
                cancel::suspended_aware();
                Poll::Pending
            }
            Ok(ready) => ready,
            Err(c) => {
                cancel::raise(c);
                Poll::Pending
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.len(), Some(self.set.len()))
    }
}

/// The stream of [`AsCompleted::with_timeout`]: `Ok(output)` in completion order, then (if the
/// deadline comes first) one `Err(TimeoutError)` and the end.
///
/// # Cancellation
///
/// As [`as_completed`]'s: cancelling the task waiting for its next item raises the
/// cancellation there at once; the futures are not told.
///
/// # Cancel safety
///
/// Dropping it, or the deadline, drops the futures not yet complete. An output that is ready when
/// the deadline is checked is yielded first: the deadline only ends a stream that has nothing to
/// yield.
///
/// # Panics
///
/// Polling it where no tower event loop is running panics (the deadline needs the loop's clock).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::{as_completed, AsCompletedTimeout};
///
/// let s: AsCompletedTimeout<_> = as_completed([async { 1 }]).with_timeout(Duration::from_secs(1));
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let got = lp.run_until_complete(tower_coro::stream::collect(s)).unwrap();
/// assert_eq!(got, [Ok(1)]);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompletedTimeout<F: Future> {
    /// The untimed stream.
    inner: AsCompleted<F>,
    /// The deadline; `None` once it fired or the stream ended.
    timer: Option<Timer>,
    /// Whether the deadline fired.
    expired: bool,
}

impl<F: Future> fmt::Debug for AsCompletedTimeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedTimeout")
            .field("remaining", &self.inner.len())
            .field("deadline", &self.timer.as_ref().and_then(Timer::deadline))
            .field("expired", &self.expired)
            .finish()
    }
}

impl<F: Future> AsCompletedTimeout<F> {
    /// How many futures have not completed (and were not dropped by the deadline).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no future is left.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Whether the deadline passed.
    pub fn expired(&self) -> bool {
        self.expired
    }
}

impl<F: Future> Unpin for AsCompletedTimeout<F> {}

impl<F: Future> Stream for AsCompletedTimeout<F> {
    type Item = Result<F::Output, TimeoutError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if raise_request() {
            return Poll::Pending;
        }
        let this = self.get_mut();
        let Some(timer) = this.timer.as_mut() else {
            return Poll::Ready(None);
        };
        match this.inner.poll_set(cx) {
            Ok(Poll::Ready(Some(out))) => return Poll::Ready(Some(Ok(out))),
            Ok(Poll::Ready(None)) => {
                this.timer = None;
                return Poll::Ready(None);
            }
            Ok(Poll::Pending) => {}
            Err(c) => {
                cancel::raise(c);
                return Poll::Pending;
            }
        }
        if Pin::new(timer).poll(cx).is_ready() {
            this.timer = None;
            this.expired = true;
            this.inner.set.clear();
            return Poll::Ready(Some(Err(TimeoutError)));
        }
        cancel::suspended_aware();
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.inner.len();
        if self.timer.is_none() {
            (0, Some(0))
        } else {
            (0, Some(n + 1))
        }
    }
}
