//! The future a task's `async_task` allocation actually runs: the user's future plus its
//! header. Each poll sets the current task (a pointer write), honours a pending cancellation by
//! dropping the user's future, turns a panic into a value, keeps the state byte, and in debug
//! mode names the task for the loop's slow-poll report (the loop times the poll and reports it
//! once; see `tower_loop::set_poll_label`).

use std::cell::Cell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};
use std::task::{Context, Poll};

use tower_loop::{ContextKind, ExceptionContext, get_running_loop};

use super::header::{
    Header, ST_CANCELLED, ST_FINISHED, ST_PANICKED, ST_RUNNING, ST_SUSPENDED, TaskRef, finish,
    recycle,
};
use crate::error::{Cancelled, Panicked, TaskError};

thread_local! {
    /// The header of the task being polled on this thread (null: none). Written by
    /// [`TaskFuture::poll`], which holds an `Arc` of that header for as long as it is set.
    static CURRENT: Cell<*const Header> = const { Cell::new(std::ptr::null()) };
}

/// The task being polled on this thread, if any.
pub(crate) fn current() -> Option<TaskRef> {
    let ptr = CURRENT.try_with(Cell::get).unwrap_or(std::ptr::null());
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` came from `Arc::as_ptr` of a header whose `TaskFuture` is being polled
    // (or dropped) further up this thread's stack; that `TaskFuture` owns an `Arc` of it and
    // resets `CURRENT` before giving it up (`CurrentGuard`), so the count is at least one here.
    let header = unsafe {
        Arc::increment_strong_count(ptr);
        Arc::from_raw(ptr)
    };
    Some(TaskRef { header })
}

/// The id of the task being polled on this thread (0: none), without touching its count.
pub(crate) fn current_id() -> u64 {
    let ptr = CURRENT.try_with(Cell::get).unwrap_or(std::ptr::null());
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: as in `current`: the header is kept alive by the `TaskFuture` being polled.
    unsafe { (*ptr).id.0 }
}

/// Sets `CURRENT` for the duration of a poll or a drop, and restores the previous value (an
/// eager task is polled inside its spawner's poll).
struct CurrentGuard {
    /// The previous value.
    prev: *const Header,
}

impl CurrentGuard {
    /// Makes `header` the current task.
    fn enter(header: &Arc<Header>) -> CurrentGuard {
        let prev = CURRENT.with(|c| c.replace(Arc::as_ptr(header)));
        CurrentGuard { prev }
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CURRENT.try_with(|c| c.set(prev));
    }
}

/// The user's future and its header.
pub(crate) struct TaskFuture<F> {
    /// The task's record; taken (and recycled) only in `Drop`.
    header: ManuallyDrop<Arc<Header>>,
    /// The user's future; `None` once completed or cancelled. Structurally pinned.
    fut: Option<F>,
}

impl<F> TaskFuture<F> {
    /// Wraps `fut`.
    pub(crate) fn new(header: Arc<Header>, fut: F) -> Self {
        TaskFuture {
            header: ManuallyDrop::new(header),
            fut: Some(fut),
        }
    }

    /// Drops the user's future in place with the task current (its destructors may ask).
    fn drop_future(&mut self) {
        if self.fut.is_some() {
            let _g = CurrentGuard::enter(&self.header);
            // Dropping in place is what `Pin` allows: the value is not moved first.
            self.fut = None;
        }
    }

    /// Marks the task done with `state` and schedules its callbacks.
    fn finish(&self, state: u8) {
        finish(&self.header, state);
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Result<F::Output, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is never moved out while pinned: it is only polled through
        // `Pin::new_unchecked` below and dropped in place (`drop_future`); the header is not
        // structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        if this.header.must_cancel.load(Ordering::Acquire) {
            let msg = this.header.cancel_msg();
            this.drop_future();
            this.finish(ST_CANCELLED);
            return Poll::Ready(Err(TaskError::Cancelled(Cancelled::new(msg.as_deref()))));
        }
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Pending;
        };
        let h = &*this.header;
        h.state.store(ST_RUNNING, Ordering::Relaxed);
        if tower_loop::running_loop_debug() {
            // The loop times the poll and, if it is slow, reports it under this name.
            tower_loop::set_poll_label(format!(
                "task {:?} (id {})",
                this.header.name(),
                this.header.id
            ));
        }
        let guard = CurrentGuard::enter(&this.header);
        // SAFETY: see above; `fut` lives in the pinned `TaskFuture` and is not moved.
        let fut = unsafe { Pin::new_unchecked(fut) };
        let res = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
        drop(guard);
        match res {
            Ok(Poll::Pending) => {
                let h = &*this.header;
                h.state.store(ST_SUSPENDED, Ordering::Release);
                // The waker is kept only by tasks that suspend (one that completes in its
                // first poll never pays for it). A `cancel` that found no waker yet is seen
                // here: both sides publish, fence, then look at the other's flag.
                if h.waker.get().is_none() {
                    let _ = h.waker.set(cx.waker().clone());
                    fence(Ordering::SeqCst);
                    if h.must_cancel.load(Ordering::Relaxed) {
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Ok(Poll::Ready(v)) => {
                this.drop_future();
                this.finish(ST_FINISHED);
                Poll::Ready(Ok(v))
            }
            Err(payload) => {
                this.drop_future();
                let panicked = Panicked::new(payload);
                if this.header.detached.load(Ordering::Acquire) {
                    // asyncio's "Task exception was never retrieved": nobody awaits it.
                    if let Ok(lp) = get_running_loop() {
                        let mut ctx = ExceptionContext::new(format!(
                            "task {:?} (id {}) panicked and nobody awaits it: {}",
                            this.header.name(),
                            this.header.id,
                            panicked.message()
                        ));
                        ctx.kind = ContextKind::Panic;
                        ctx.source = Some("a task poll");
                        lp.call_exception_handler(&ctx);
                    }
                }
                this.finish(ST_PANICKED);
                Poll::Ready(Err(TaskError::Panicked(panicked)))
            }
        }
    }
}

impl<F> Drop for TaskFuture<F> {
    fn drop(&mut self) {
        // Dropped unfinished: its runnable was dropped (the loop closed) or `async_task`
        // cancelled it.
        if !self.header.is_done() {
            self.drop_future();
            self.header.state.store(ST_CANCELLED, Ordering::SeqCst);
            // Callbacks of a task dropped with its loop are dropped unrun.
            let cbs = self
                .header
                .extra()
                .as_mut()
                .map(|e| std::mem::take(&mut e.callbacks));
            drop(cbs);
        }
        self.header.registry.remove(self.header.slot);
        // SAFETY: `header` is not used after this: we are in `drop`.
        let header = unsafe { ManuallyDrop::take(&mut self.header) };
        recycle(header);
    }
}
