//! [`wait_for_task`] and [`CancelOnDrop`]: waiting for a task with a deadline, asyncio's
//! `wait_for(task, timeout)`, including its zero-timeout case and cancelling the task when the
//! wait is dropped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::future::Timeout;
use super::state::Start;
use super::timer_after;
use crate::error::TaskError;
use crate::{Task, TaskRef};

/// Waits for a *task* for at most `timeout` (the duration first, as for
/// [`timeout`](crate::timeout)), as asyncio's `wait_for(task, timeout)`: at the
/// deadline the task is cancelled and waited for (its cleanup has run when this returns), and
/// if the wait is dropped before the task is done, the task is cancelled (Python issue #23219).
///
/// The output is the task's own outcome inside the timeout's: `Ok(Ok(v))`,
/// `Ok(Err(TaskError))` if the task was cancelled by someone else or panicked, and
/// `Err(TimeoutError)` when the deadline's cancellation ended it. A task that catches the
/// cancellation and returns a value gives `Ok(Ok(v))`.
///
/// With a zero timeout, as asyncio 3.12: a task already done gives its outcome; otherwise it
/// is cancelled at once and waited for (`Err(TimeoutError)` if it ends cancelled).
///
/// [`wait_for`](crate::wait_for) given a task does the same on expiry, but a dropped wait only
/// drops the handle (which detaches the task) and a zero timeout drops it unpolled.
///
/// # Cancel safety
///
/// If the returned future is dropped, the task is cancelled (`TaskRef::cancel`) unless it is
/// done; that cancellation is not waited for (nothing can be awaited in a drop).
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
///     assert!(wait_for_task(Duration::from_secs(1), t).await.is_err());
///     assert!(probe.cancelled()); // cancelled and waited for
/// })
/// .unwrap();
/// ```
pub fn wait_for_task<T>(timeout: Duration, task: Task<T>) -> Timeout<CancelOnDrop<T>> {
    let zero = timeout.is_zero();
    let start = if zero { Start::Deliver } else { Start::Poll };
    let wait = CancelOnDrop {
        task,
        outcome_if_done: zero,
    };
    Timeout::new(timer_after(timeout), wait, start)
}

/// A task handle that cancels its task if dropped before the task is done (asyncio's awaiting
/// side of cancellation: a cancelled awaiter cancels what it awaits, also when it cannot wait).
/// Made by [`wait_for_task`], or `CancelOnDrop::from(task)`. Awaiting it is awaiting the
/// [`Task`]: the task's outcome, and a cancellation of the awaiter passes on to the task, which
/// is waited for.
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
    /// At the first poll, give the outcome of a task already done even if a cancellation
    /// request is in flight (asyncio's `wait_for(fut, 0)` returns a done future's result).
    outcome_if_done: bool,
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
        CancelOnDrop {
            task,
            outcome_if_done: false,
        }
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
        if std::mem::take(&mut self.outcome_if_done) && self.task.done() {
            // Polled with no request in sight: the handle just gives the outcome.
            let (out, raised) = tower_coro::cancel::isolate(|| Pin::new(&mut self.task).poll(cx));
            if let Some(c) = raised {
                tower_coro::cancel::raise(c);
            }
            return out;
        }
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        if !self.task.done() {
            self.task.cancel_with(WAIT_CANCEL_MSG);
        }
    }
}

/// Message given to a task cancelled because the wait for it was dropped.
const WAIT_CANCEL_MSG: &str = "wait_for was dropped before the task was done";
