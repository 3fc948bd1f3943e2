//! The future a task's `async_task` allocation actually runs: the user's future plus its
//! header. Each poll sets the current task (a pointer write), honours a pending cancellation by
//! dropping the user's future, turns a panic into a value, keeps the state byte, and in debug
//! mode names the task for the loop's slow-poll report (the loop times the poll and reports it
//! once; see `tower_loop::set_poll_label`).

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tower_loop::{ContextKind, ExceptionContext, get_running_loop};

use super::header::{F_CANCEL, F_DETACHED, Header};
use super::state::{ST_CANCELLED, ST_FINISHED, ST_PANICKED, ST_RUNNING, ST_SUSPENDED};
use super::task_ref::TaskRef;
use crate::error::{Cancelled, Panicked, TaskError};

thread_local! {
    /// The header of the task being polled on this thread (null: none). Written by
    /// [`TaskFuture::poll`] (and its drop) for as long as that future, which lives in the same
    /// allocation as the header, is being polled or dropped.
    static CURRENT: Cell<*const Header> = const { Cell::new(std::ptr::null()) };
}

/// The task being polled on this thread, if any.
pub(crate) fn current() -> Option<TaskRef> {
    let ptr = CURRENT.try_with(Cell::get).unwrap_or(std::ptr::null());
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` is the header of the task whose `TaskFuture` is being polled (or dropped)
    // further up this thread's stack; the header lives in that task's allocation, which is
    // alive while its future is, and `CurrentGuard` resets `CURRENT` before the poll or drop
    // returns.
    let header = unsafe { &*ptr };
    Some(TaskRef::new(header))
}

/// The id of the task being polled on this thread (0: none), without touching its count.
#[inline]
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
    fn enter(header: &Header) -> CurrentGuard {
        let prev = CURRENT.with(|c| c.replace(std::ptr::from_ref(header)));
        CurrentGuard { prev }
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CURRENT.try_with(|c| c.set(prev));
    }
}

/// Debug mode: names the poll about to run; the loop times it and, if it is slow, reports it
/// under this name (out of line: debug mode is rare).
#[cold]
#[inline(never)]
fn label_poll(h: &Header) {
    tower_loop::set_poll_label(format!("task {:?} (id {})", h.name(), h.id));
}

/// A pointer to a task's header, from inside the same allocation.
struct HeaderPtr(NonNull<Header>);

// SAFETY: `Header` is `Send + Sync`; the pointer is only dereferenced by the `TaskFuture` that
// holds it, which lives in the allocation the header lives in (see `TaskFuture::header`).
unsafe impl Send for HeaderPtr {}

/// The user's future and its header.
pub(crate) struct TaskFuture<F> {
    /// The task's record, in the same `async_task` allocation as this future.
    header: HeaderPtr,
    /// The user's future; `None` once completed or cancelled. Structurally pinned.
    fut: Option<F>,
}

/// The user's future before its task is allocated: [`bind`](Unbound::bind) makes the
/// [`TaskFuture`] once async-task hands over the header's final address (the `async_task`
/// future closure).
pub(crate) struct Unbound<F>(F);

impl<F> Unbound<F> {
    /// Wraps the user's future.
    pub(crate) fn new(fut: F) -> Self {
        Unbound(fut)
    }

    /// The task's future, for the header at `header` (async-task's metadata of the same
    /// allocation).
    pub(crate) fn bind(self, header: &Header) -> TaskFuture<F> {
        TaskFuture {
            header: HeaderPtr(NonNull::from(header)),
            fut: Some(self.0),
        }
    }
}

impl<F> TaskFuture<F> {
    /// The header.
    fn header(&self) -> &Header {
        // SAFETY: async-task allocates the metadata (the header) and this future in one
        // allocation, drops the future before the metadata, and never moves either; so the
        // header is alive for as long as `self` is.
        unsafe { self.header.0.as_ref() }
    }

    /// Drops the user's future in place with the task current (its destructors may ask).
    fn drop_future(&mut self) {
        if self.fut.is_some() {
            let _g = CurrentGuard::enter(self.header());
            // Dropping in place is what `Pin` allows: the value is not moved first.
            self.fut = None;
        }
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Result<F::Output, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is never moved out while pinned: it is only polled through
        // `Pin::new_unchecked` below and dropped in place (`drop_future`); the header pointer
        // is not structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as in `TaskFuture::header` (not borrowed through `this`, which is mutated).
        let h: &Header = unsafe { this.header.0.as_ref() };
        if h.flag(F_CANCEL, Ordering::Acquire) {
            return this.cancel_now();
        }
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Pending;
        };
        h.state.store(ST_RUNNING, Ordering::Relaxed);
        if tower_loop::running_loop_debug() {
            label_poll(h);
        }
        let guard = CurrentGuard::enter(h);
        // SAFETY: see above; `fut` lives in the pinned `TaskFuture` and is not moved.
        let fut = unsafe { Pin::new_unchecked(fut) };
        let res = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
        if let Ok(Poll::Ready(_)) = res {
            // The finished future is dropped in place (as `drop_future` does) under the poll's
            // own guard: the task is still current for its destructors.
            this.fut = None;
        }
        drop(guard);
        match res {
            Ok(Poll::Pending) => {
                // A `cancel` meanwhile woke the task (async-task runs it again after this
                // poll), so nothing more to do here.
                h.state.store(ST_SUSPENDED, Ordering::Release);
                Poll::Pending
            }
            Ok(Poll::Ready(v)) => {
                h.finish(ST_FINISHED);
                Poll::Ready(Ok(v))
            }
            Err(payload) => Poll::Ready(Err(this.panicked(payload))),
        }
    }
}

impl<F> TaskFuture<F> {
    /// A cancellation is pending at the start of a poll: drops the user's future and
    /// finishes the task cancelled (rare: out of line, so the poll stays small).
    #[cold]
    #[inline(never)]
    fn cancel_now(&mut self) -> Poll<Result<F::Output, TaskError>>
    where
        F: Future,
    {
        let msg = self.header().cancel_msg();
        self.drop_future();
        self.header().finish(ST_CANCELLED);
        Poll::Ready(Err(TaskError::Cancelled(Cancelled::new(msg.as_deref()))))
    }

    /// The user's future panicked with `payload`: drops it, reports the panic if nobody awaits
    /// the task, and finishes the task panicked (rare: out of line).
    #[cold]
    #[inline(never)]
    fn panicked(&mut self, payload: Box<dyn Any + Send>) -> TaskError {
        self.drop_future();
        let h = self.header();
        let panicked = Panicked::new(payload);
        if h.flag(F_DETACHED, Ordering::Acquire) {
            // asyncio's "Task exception was never retrieved": nobody awaits it.
            if let Ok(lp) = get_running_loop() {
                let mut ctx = ExceptionContext::new(format!(
                    "task {:?} (id {}) panicked and nobody awaits it: {}",
                    h.name(),
                    h.id,
                    panicked.message()
                ));
                ctx.kind = ContextKind::Panic;
                ctx.source = Some("a task poll");
                lp.call_exception_handler(&ctx);
            }
        }
        h.finish(ST_PANICKED);
        TaskError::Panicked(panicked)
    }
}

impl<F> Drop for TaskFuture<F> {
    fn drop(&mut self) {
        // Dropped unfinished: its runnable was dropped (the loop closed) or `async_task`
        // cancelled it.
        if !self.header().is_done() {
            self.drop_future();
            let h = self.header();
            h.state.store(ST_CANCELLED, Ordering::SeqCst);
            // Callbacks of a task dropped with its loop are dropped unrun.
            let cbs = h
                .extra_if_any()
                .map(|mut e| std::mem::take(&mut e.callbacks));
            drop(cbs);
        }
        let h = self.header();
        h.registry.remove(h.slot.load(Ordering::Relaxed));
        // Release the registry's reference count (taken in `spawn_in`). Whoever is dropping
        // this future (a runnable being run or dropped) holds another, so the allocation —
        // and `h` — outlive this call.
        drop(std::mem::ManuallyDrop::into_inner(h.home()));
    }
}
