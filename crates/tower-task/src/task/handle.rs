//! [`Task`]: the typed handle `spawn` returns — await it for the output; dropping it detaches.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use async_task::FallibleTask;

use super::header::{F_DETACHED, F_PASSED, Header};
use super::outcome::{Outcome, widen};
use super::state::{ST_TAKEN, TaskState};
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
/// # Cancellation
///
/// Cancelling a task that awaits a `Task` passes the cancellation on, as asyncio does: the
/// awaited task is cancelled in turn (with the same message) and the await keeps waiting for
/// it. If it ends cancelled, the cancellation goes on out of the awaiting task's `.await` to
/// the nearest [`catch_cancel`](crate::catch_cancel) (or ends that task cancelled too); if it
/// handles the cancellation and returns a value, or fails, the await returns that. A task that
/// was cancelled by anyone else gives `Err(TaskError::Cancelled)` as a value.
///
/// A task awaiting its own handle gets `Err(TaskError::AwaitedItself)` at once (asyncio raises
/// `RuntimeError`) instead of waiting forever.
///
/// # Cancel safety
///
/// Dropping a `Task` (or a future awaiting it) mid-way loses nothing: the task keeps running
/// and its output is dropped when it completes. To stop the task, call
/// [`cancel`](TaskRef::cancel).
#[must_use = "dropping a Task detaches it; await it to get its output"]
pub struct Task<T> {
    /// The `async-task` handle, kept until this handle drops: its task reference keeps the
    /// allocation (and the header in it) alive. It is one word, the allocation's address, and
    /// so also the [`TaskRef`] this handle dereferences to (see [`Task::task_ref`]).
    raw: ManuallyDrop<FallibleTask<Outcome<T>, Header>>,
}

impl<T> Task<T> {
    /// Wraps the handle of a freshly spawned task (which went through
    /// `layout::check_spawned`).
    pub(crate) fn new(raw: FallibleTask<Outcome<T>, Header>) -> Self {
        Task {
            raw: ManuallyDrop::new(raw),
        }
    }

    /// The untyped handle of this task.
    #[inline]
    pub fn task_ref(&self) -> &TaskRef {
        // The `TaskRef` read below is only ever borrowed (never dropped, never copied out), so
        // it uses the reference count `raw` holds, which lasts as long as `self` (`raw` is
        // released only in our `Drop`).
        let raw: *const FallibleTask<Outcome<T>, Header> = &*self.raw;
        // SAFETY: a `FallibleTask` is one word, the task allocation's address (verified for
        // this task by `layout::check_spawned`), and `TaskRef` is a `repr(transparent)`
        // `NonNull<()>` of that address: the bytes are a valid `TaskRef`, borrowed (above).
        unsafe { &*raw.cast::<TaskRef>() }
    }

    /// The task's header.
    #[inline]
    fn header(&self) -> &Header {
        self.task_ref().header()
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
        if !self.header().is_done() {
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
        self.header().state_byte().load(Ordering::Acquire) & ST_TAKEN != 0
    }

    /// Records that the outcome was taken. The task is done, so nothing else writes its state
    /// byte any more: a plain store keeps the final state and adds the flag.
    fn mark_taken(&self) {
        let state = self.header().state_byte();
        state.store(state.load(Ordering::Acquire) | ST_TAKEN, Ordering::Release);
    }

    /// Maps the raw output: `None` means the future was dropped without completing.
    fn outcome(&self, out: Option<Outcome<T>>) -> Result<T, TaskError> {
        match out {
            Some(r) => widen(r),
            None => {
                let msg = self.header().cancel_msg();
                let msg = msg.as_deref().or(Some("the event loop was closed"));
                Err(TaskError::Cancelled(Cancelled::new(msg)))
            }
        }
    }
}

impl<T> Deref for Task<T> {
    type Target = TaskRef;

    #[inline]
    fn deref(&self) -> &TaskRef {
        self.task_ref()
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
            if me == self.header().id().0 {
                return Poll::Ready(Err(TaskError::AwaitedItself));
            }
            self.header().record_awaiter(me);
        }
        if self.taken() {
            return self.polled_again();
        }
        if tower_coro::cancel::requested() {
            return self.take_request(cx);
        }
        match self.poll_output(cx) {
            Poll::Pending => {
                tower_coro::cancel::suspended_aware();
                Poll::Pending
            }
            Poll::Ready(Err(TaskError::Cancelled(c)))
                if self.header().flag(F_PASSED, Ordering::Acquire) =>
            {
                tower_coro::cancel::raise(c);
                Poll::Pending
            }
            Poll::Ready(out) => Poll::Ready(out),
        }
    }
}

impl<T> Task<T> {
    /// Polls for the output without taking part in cancellation delivery (for combinators
    /// that wait on tasks and decide themselves what a cancellation does to them).
    pub(crate) fn poll_output(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        match Pin::new(&mut *self.raw).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => {
                self.mark_taken();
                Poll::Ready(self.outcome(out))
            }
        }
    }

    /// The awaiting task is being cancelled and this await is where it is suspended
    /// (`tower_coro::cancel`): if the awaited task still runs, pass the cancellation on to it
    /// (it is cancelled with the same message and waited for; when it ends cancelled, the
    /// await raises it on); if it is done, the await raises the cancellation at once, as
    /// asyncio's does, unless the task panicked: that error is returned and the request goes
    /// on to the next aware await (rare: out of line).
    #[cold]
    #[inline(never)]
    fn take_request(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        if self.done() {
            let out = self.poll_output(cx);
            if let Poll::Ready(Err(e @ TaskError::Panicked(_))) = out {
                return Poll::Ready(Err(e));
            }
            if let Some(c) = tower_coro::cancel::take() {
                tower_coro::cancel::raise(c);
            }
            return Poll::Pending;
        }
        if let Some(c) = tower_coro::cancel::take() {
            self.header()
                .flags_byte()
                .fetch_or(F_PASSED, Ordering::AcqRel);
            self.cancel_opt(c.message());
        }
        match self.poll_output(cx) {
            Poll::Ready(Err(TaskError::Cancelled(c))) => {
                tower_coro::cancel::raise(c);
                Poll::Pending
            }
            Poll::Ready(out) => Poll::Ready(out),
            Poll::Pending => {
                tower_coro::cancel::suspended_aware();
                Poll::Pending
            }
        }
    }

    /// Polled after its output was taken: a raise of a passed-on cancellation goes on (a
    /// combinator that does not know about cancellation may poll it once more); anything
    /// else is a misuse.
    #[cold]
    #[inline(never)]
    fn polled_again(&self) -> Poll<Result<T, TaskError>> {
        let h = self.header();
        if h.flag(F_PASSED, Ordering::Acquire) && h.state() == TaskState::Cancelled {
            let msg = h.cancel_msg();
            tower_coro::cancel::raise(Cancelled::new(msg.as_deref()));
            return Poll::Pending;
        }
        panic!("tower_task::Task polled after it completed");
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if !self.taken() {
            self.header()
                .flags_byte()
                .fetch_or(F_DETACHED, Ordering::Release);
        }
        // SAFETY: `raw` is not used after this: we are in `drop`.
        let raw = unsafe { ManuallyDrop::take(&mut self.raw) };
        // Detaching: the task keeps running (dropping an `async_task::Task` would cancel it).
        raw.detach();
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.header().id())
            .field("name", &self.header().name())
            .field("state", &self.header().state())
            .finish()
    }
}
#[cfg(test)]
mod tests {
    /// A handle is one word, the `async_task` handle (the header is found from it, the
    /// "outcome taken" flag lives in the header's state byte). Bytes per idle task count it.
    #[test]
    fn a_task_handle_is_one_word() {
        assert_eq!(size_of::<super::Task<u64>>(), size_of::<usize>());
        assert_eq!(size_of::<Option<super::Task<u64>>>(), size_of::<usize>());
    }
}
