//! [`Task`]: the typed handle `spawn` returns — await it for the output; dropping it detaches.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use async_task::FallibleTask;

use super::header::Header;
use super::spawn::RawTask;
use super::state::ST_TAKEN;
use super::task_ref::TaskRef;
use super::wrapper::current_id;
use crate::error::{Cancelled, TaskError};

/// A spawned task (asyncio's `Task`). Awaiting it gives `Ok(output)`, or
/// `Err(TaskError::Cancelled)` carrying the message of [`cancel`](TaskRef::cancel), or
/// `Err(TaskError::Panicked)` if its future panicked (the loop and its other tasks go on).
///
/// Dropping a `Task` **detaches** it: the task keeps running (asyncio's semantics, and
/// tokio's). Everything else a task offers — name, state, `cancel`, `cancelling`, `uncancel`,
/// done callbacks — is on [`TaskRef`], which `Task` dereferences to.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::spawn;
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let t = spawn(async { 6 * 7 });
///     assert!(!t.done());
///     assert_eq!(t.await.unwrap(), 42);
///
///     let bad = spawn(async { if true { panic!("boom") } });
///     assert!(bad.await.unwrap_err().is_panic());
/// })
/// .unwrap();
/// ```
///
/// # Cancel safety
///
/// Dropping a `Task` (or a future awaiting it) mid-way loses nothing: the task keeps running
/// and its output is dropped when it completes. To stop the task, call
/// [`cancel`](TaskRef::cancel).
#[must_use = "dropping a Task detaches it; await it to get its output"]
pub struct Task<T> {
    /// The `async-task` handle, kept until this handle drops: its task reference keeps the
    /// allocation (and so the header `task` points at) alive.
    raw: ManuallyDrop<FallibleTask<Result<T, TaskError>, Header>>,
    /// The untyped handle, borrowing `raw`'s reference count: never dropped (see `new`).
    task: ManuallyDrop<TaskRef>,
}

impl<T> Task<T> {
    /// Wraps the handles of a freshly spawned task.
    pub(crate) fn new(raw: RawTask<T>, header: &Header) -> Self {
        Task {
            raw: ManuallyDrop::new(raw.fallible()),
            // SAFETY: this `TaskRef` owns no reference count; it is valid while `raw` keeps
            // the allocation alive, which is as long as `self` (`raw` is dropped only in our
            // `Drop`, and the `TaskRef` is never dropped, only borrowed).
            task: ManuallyDrop::new(unsafe { TaskRef::borrowed(header) }),
        }
    }

    /// The untyped handle of this task.
    pub fn task_ref(&self) -> &TaskRef {
        &self.task
    }

    /// Takes the outcome if the task is done, without waiting (asyncio's `result()`; the
    /// outcome can be taken once). `None` if the task is not done yet, or the outcome was
    /// already taken.
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{spawn, sleep};
    ///
    /// let lp = EventLoop::builder().paused_clock().build().unwrap();
    /// lp.run_until_complete(async {
    ///     let mut t = spawn(async { 5 });
    ///     assert!(t.result().is_none()); // not run yet
    ///     sleep(std::time::Duration::from_millis(1)).await;
    ///     assert_eq!(t.result().unwrap().unwrap(), 5);
    /// })
    /// .unwrap();
    /// ```
    pub fn result(&mut self) -> Option<Result<T, TaskError>> {
        if !self.task.done() {
            return None;
        }
        if self.taken() {
            return None;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut *self.raw).poll(&mut cx) {
            Poll::Pending => None,
            Poll::Ready(out) => {
                self.mark_taken();
                Some(self.outcome(out))
            }
        }
    }

    /// Detaches the task explicitly (the same as dropping the handle).
    pub fn detach(self) {
        drop(self);
    }

    /// Whether the outcome was taken (then `raw` must not be polled again).
    fn taken(&self) -> bool {
        self.task.header().state.load(Ordering::Acquire) & ST_TAKEN != 0
    }

    /// Records that the outcome was taken. The task is done, so nothing else writes its state
    /// byte any more: a plain store keeps the final state and adds the flag.
    fn mark_taken(&self) {
        let state = &self.task.header().state;
        state.store(state.load(Ordering::Acquire) | ST_TAKEN, Ordering::Release);
    }

    /// Maps the raw output: `None` means the future was dropped without completing.
    fn outcome(&self, out: Option<Result<T, TaskError>>) -> Result<T, TaskError> {
        match out {
            Some(r) => r,
            None => {
                let msg = self.task.header().cancel_msg();
                let msg = msg.as_deref().or(Some("the event loop was closed"));
                Err(TaskError::Cancelled(Cancelled::new(msg)))
            }
        }
    }
}

impl<T> Deref for Task<T> {
    type Target = TaskRef;

    fn deref(&self) -> &TaskRef {
        &self.task
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready` (or after [`result`](Task::result) took the
    /// outcome).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = current_id();
        if me != 0 {
            self.task.header().awaited_by.store(me, Ordering::Relaxed);
        }
        assert!(!self.taken(), "tower_task::Task polled after it completed");
        match Pin::new(&mut *self.raw).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => {
                self.mark_taken();
                Poll::Ready(self.outcome(out))
            }
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if !self.taken() {
            self.task.header().detached.store(true, Ordering::Release);
        }
        // The borrowed `task` goes with `raw`'s reference count, unused after this.
        // SAFETY: `raw` is not used after this: we are in `drop`.
        let raw = unsafe { ManuallyDrop::take(&mut self.raw) };
        // Detaching: the task keeps running (dropping an `async_task::Task` would cancel it).
        raw.detach();
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.task.id())
            .field("name", &self.task.get_name())
            .field("state", &self.task.state())
            .finish()
    }
}
#[cfg(test)]
mod tests {
    /// A handle is two words: the `async_task` handle and the header pointer (the "outcome
    /// taken" flag lives in the header's state byte). Bytes per idle task count it.
    #[test]
    fn a_task_handle_is_two_words() {
        assert_eq!(size_of::<super::Task<u64>>(), 2 * size_of::<usize>());
    }
}
