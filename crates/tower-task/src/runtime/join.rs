//! [`JoinHandle`]: awaiting a task spawned on the runtime.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_task::FallibleTask;
use tower_coro::PanicPayload;

use super::error::JoinError;

/// An owned permission to await a spawned task's output. Dropping it detaches the task (it
/// keeps running), as asyncio and tokio do.
///
/// Awaiting gives `Ok(output)`, `Err(JoinError::Panic(..))` if the task panicked (the worker
/// and the other tasks go on), or `Err(JoinError::Cancelled)` if it was dropped unfinished.
///
/// ```
/// use tower_task::runtime::Builder;
///
/// let rt = Builder::new().worker_threads(1).build().unwrap();
/// let out = rt.block_on(async {
///     let ok = rt.spawn(async { 1 });
///     let bad = rt.spawn(async { if true { panic!("boom") } });
///     (ok.await.unwrap(), bad.await.unwrap_err().is_panic())
/// });
/// assert_eq!(out.unwrap(), (1, true));
/// ```
#[must_use = "dropping a JoinHandle detaches the task; await it to get its output"]
pub struct JoinHandle<T> {
    /// The `async-task` handle; `None` once detached by drop.
    task: Option<FallibleTask<Result<T, PanicPayload>>>,
}

impl<T> JoinHandle<T> {
    /// Wraps an `async-task` handle of a future wrapped in `catch_unwind`.
    pub(crate) fn new(task: async_task::Task<Result<T, PanicPayload>>) -> Self {
        JoinHandle {
            task: Some(task.fallible()),
        }
    }

    /// Whether the task has completed (or was cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(task) = self.task.as_mut() else {
            return Poll::Ready(Err(JoinError::Cancelled));
        };
        match Pin::new(task).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Err(JoinError::Cancelled)),
            Poll::Ready(Some(Ok(v))) => Poll::Ready(Ok(v)),
            Poll::Ready(Some(Err(p))) => Poll::Ready(Err(JoinError::Panic(p))),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
