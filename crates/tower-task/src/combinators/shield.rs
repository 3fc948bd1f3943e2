//! `shield`: await a task without letting your cancellation reach it (asyncio's `shield`).
//!
//! The future is spawned as a task and the [`Shield`] awaits its handle. Cancelling the task
//! awaiting it raises the cancellation at the `.await` at once (catch it with
//! [`catch_cancel`](crate::catch_cancel), as asyncio's awaiter gets `CancelledError`) and does
//! not reach the inner task: dropping the `Shield` then *detaches* it, and it runs on to
//! completion. Like `wait` and `as_completed`, it does not wait for what it awaits when
//! cancelled — for `shield` that is what it is for. Cancelling the inner task itself (through
//! [`Shield::task_ref`]) does reach the awaiter, as `Err(TaskError::Cancelled)`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::TaskError;
use crate::{Task, TaskRef, spawn};

/// Runs `fut` as a task that survives the cancellation of whoever awaits it (asyncio's
/// `shield(aw)`).
///
/// # Cancel safety
///
/// Dropping the [`Shield`] detaches the inner task: it keeps running, its output is dropped
/// when it completes.
///
/// # Panics
///
/// If no tower event loop runs on this thread (the future is spawned at once).
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::{shield, sleep, spawn};
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let saved = Arc::new(AtomicBool::new(false));
/// let s = saved.clone();
/// lp.run_until_complete(async move {
///     let outer = spawn(async move {
///         shield(async move {
///             sleep(Duration::from_secs(5)).await;
///             s.store(true, Ordering::SeqCst); // e.g. a commit that must not be torn
///         })
///         .await
///     });
///     sleep(Duration::from_secs(1)).await;
///     outer.cancel();
///     assert!(outer.await.unwrap_err().is_cancelled()); // the awaiter is cancelled...
///     sleep(Duration::from_secs(10)).await;
/// })
/// .unwrap();
/// assert!(saved.load(Ordering::SeqCst)); // ...the shielded work finished anyway
/// ```
pub fn shield<F>(fut: F) -> Shield<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Shield { task: spawn(fut) }
}

/// The future of [`shield`]: the inner task's outcome. Also made from an existing task with
/// `Shield::from(task)` (asyncio shields a task as it is).
///
/// # Cancel safety
///
/// Dropping it detaches the inner task, which runs on.
///
/// # Examples
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{spawn, Shield};
///
/// let lp = EventLoop::new().unwrap();
/// let v = lp.run_until_complete(async { Shield::from(spawn(async { 4 })).await });
/// assert_eq!(v.unwrap().unwrap(), 4);
/// ```
#[must_use = "dropping a Shield detaches its task; await it to get the output"]
pub struct Shield<T> {
    /// The inner task.
    task: Task<T>,
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}

impl<T> Shield<T> {
    /// The inner task's untyped handle (cancelling it does reach the awaiter).
    pub fn task_ref(&self) -> &TaskRef {
        self.task.task_ref()
    }

    /// Gives up the shield and returns the inner task's handle: after catching a cancellation
    /// around a borrowed `Shield`, to await the inner task's value (asyncio: keep the inner
    /// task, `await` it after `except CancelledError`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_task::{catch_cancel, run, shield, sleep, spawn};
    ///
    /// run(async {
    ///     let awaiter = spawn(async {
    ///         let mut s = shield(async { sleep(Duration::from_secs(5)).await; "committed" });
    ///         match catch_cancel(&mut s).await {
    ///             Ok(out) => out.unwrap(),
    ///             Err(_cancelled) => s.into_task().await.unwrap(), // finish it, then go on
    ///         }
    ///     });
    ///     sleep(Duration::from_secs(1)).await;
    ///     awaiter.cancel();
    ///     assert_eq!(awaiter.await.unwrap(), "committed");
    /// })
    /// .unwrap();
    /// ```
    pub fn into_task(self) -> Task<T> {
        self.task
    }
}

impl<T> From<Task<T>> for Shield<T> {
    fn from(task: Task<T>) -> Self {
        Shield { task }
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// If polled again after it completed.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(c) = tower_coro::cancel::take() {
            // The awaiter is being cancelled: it sees its cancellation now, the inner task
            // is not told (asyncio's shield: the outer future is cancelled, not the inner).
            tower_coro::cancel::raise(c);
            return Poll::Pending;
        }
        let out = self.task.poll_output(cx);
        if out.is_pending() {
            tower_coro::cancel::suspended_aware();
        }
        out
    }
}
