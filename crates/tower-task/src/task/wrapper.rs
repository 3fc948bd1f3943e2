//! The future a task's `async_task` allocation actually runs: the user's future plus its
//! header. Each poll sets the current task (a pointer write), delivers a pending cancellation
//! request through the poll (`tower_coro::cancel`) and ends the task cancelled if nothing in
//! the future takes it or a cancellation is raised out of it (the backstop), turns a panic into
//! a value, keeps the state byte, and in debug mode names the task for the loop's slow-poll
//! report (the loop times the poll and reports it once; see `tower_loop::set_poll_label`).

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tower_loop::{ContextKind, ExceptionContext, get_running_loop};

use tower_coro::cancel::{self, Delivery};

use super::header::{F_ABORT, F_CANCEL, F_DEFER, F_DETACHED, Header};
use super::outcome::{Outcome, ThinError};
use super::state::{
    ST_CANCELLED, ST_FINISHED, ST_PANICKED, ST_RUNNING, ST_SUSPENDED, ST_SUSPENDED_AWARE,
};
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
    unsafe { (*ptr).id().0 }
}

/// The id of the task being polled on this thread and its `cancelling()` count (`(0, 0)`:
/// none), without touching its reference count (what a timeout records on entry).
#[inline]
pub(crate) fn current_id_and_cancelling() -> (u64, u32) {
    let ptr = CURRENT.try_with(Cell::get).unwrap_or(std::ptr::null());
    if ptr.is_null() {
        return (0, 0);
    }
    // SAFETY: as in `current`: the header is kept alive by the `TaskFuture` being polled.
    let h = unsafe { &*ptr };
    (h.id().0, h.cancelling())
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
    tower_loop::set_poll_label(format!("task {:?} (id {})", h.name(), h.id()));
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
    /// Its slot in its registry (`Registry::reserve`), which `drop` frees: it lives here, not in
    /// the header, because it is used only while the future exists, and for a small future it
    /// fills what would be padding (`header.rs`, "Sizes").
    slot: u32,
    /// The user's future; `None` once completed or cancelled. Structurally pinned.
    fut: Option<F>,
}

/// The user's future before its task is allocated: [`bind`](Unbound::bind) makes the
/// [`TaskFuture`] once async-task hands over the header's final address (the `async_task`
/// future closure).
pub(crate) struct Unbound<F> {
    /// The user's future.
    fut: F,
    /// The task's slot in its registry (`Registry::reserve`).
    slot: u32,
}

impl<F> Unbound<F> {
    /// Wraps the user's future, of a task that `slot` of its registry is reserved for.
    pub(crate) fn new(fut: F, slot: u32) -> Self {
        Unbound { fut, slot }
    }

    /// The task's future, for the header at `header` (async-task's metadata of the same
    /// allocation). Nothing here can unwind (a panic inside async-task's allocation aborts):
    /// the registry slot was reserved before.
    #[inline(always)]
    pub(crate) fn bind(self, header: &Header) -> TaskFuture<F> {
        TaskFuture {
            header: HeaderPtr(NonNull::from(header)),
            slot: self.slot,
            fut: Some(self.fut),
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

    /// [`drop_future`](Self::drop_future), catching a panic of the future's destructors so
    /// that the task still finishes: its done callbacks run and its awaiters wake. (A drop that
    /// unwinds still leaves `fut` as `None`: an assignment's new value is written even when
    /// dropping the old one panics.)
    fn drop_future_caught(&mut self) -> Result<(), Box<dyn Any + Send>> {
        catch_unwind(AssertUnwindSafe(|| self.drop_future()))
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is never moved out while pinned: it is only polled through
        // `Pin::new_unchecked` (`poll_user`) and dropped in place (`drop_future`); the header
        // pointer is not structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as in `TaskFuture::header` (not borrowed through `this`, which is mutated).
        let h: &Header = unsafe { this.header.0.as_ref() };
        if h.flag(F_CANCEL, Ordering::Acquire) {
            return this.poll_delivering(cx);
        }
        if this.fut.is_none() {
            return Poll::Pending;
        }
        let mark = cancel::mark();
        let res = this.poll_user(cx);
        let end = mark.end();
        if end.in_flight {
            // A cancellation raised out of the future that nothing in it caught.
            if let Some(c) = cancel::take_escaped() {
                return this.backstop(res, c);
            }
        }
        this.settle(res, end.aware)
    }
}

/// One poll of the user's future: its outcome, or the payload of its panic.
type Polled<T> = Result<Poll<T>, Box<dyn Any + Send>>;

impl<F: Future> TaskFuture<F> {
    /// Polls the user's future once with the task current, catching a panic; a future that
    /// completed is dropped in place before this returns.
    #[inline(always)]
    fn poll_user(&mut self, cx: &mut Context<'_>) -> Polled<F::Output> {
        // SAFETY: as in `TaskFuture::header` (not borrowed through `self`, which is mutated).
        let h: &Header = unsafe { self.header.0.as_ref() };
        let Some(fut) = self.fut.as_mut() else {
            return Ok(Poll::Pending);
        };
        h.state_byte().store(ST_RUNNING, Ordering::Relaxed);
        if tower_loop::running_loop_debug() {
            label_poll(h);
        }
        let guard = CurrentGuard::enter(h);
        // SAFETY: `fut` lives in the pinned `TaskFuture` and is not moved (see `poll`).
        let fut = unsafe { Pin::new_unchecked(fut) };
        let res = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
        if let Ok(Poll::Ready(_)) = res {
            // The finished future is dropped in place (as `drop_future` does) under the poll's
            // own guard: the task is still current for its destructors.
            self.fut = None;
        }
        drop(guard);
        res
    }

    /// Turns a poll's outcome into the task's: suspended, finished or panicked.
    #[inline(always)]
    fn settle(&mut self, res: Polled<F::Output>, aware: bool) -> Poll<Outcome<F::Output>> {
        match res {
            Ok(Poll::Pending) => {
                // A `cancel` meanwhile woke the task (async-task runs it again after this
                // poll), so nothing more to do here. Whether something aware is suspended in
                // the future decides how the next request is delivered.
                let state = ST_SUSPENDED + u8::from(aware);
                self.header().state_byte().store(state, Ordering::Release);
                Poll::Pending
            }
            Ok(Poll::Ready(v)) => {
                let h = self.header();
                if h.flags_byte().load(Ordering::Acquire) & (F_CANCEL | F_DEFER) == F_CANCEL {
                    return self.cancelled_at_end(v);
                }
                h.finish(ST_FINISHED);
                Poll::Ready(Ok(v))
            }
            Err(payload) => Poll::Ready(Err(ThinError::new(self.panicked(payload)))),
        }
    }

    /// The future returned a value while a cancellation request was waiting to be delivered
    /// (the task cancelled itself, or was cancelled from another thread during the poll): as
    /// asyncio's task, it ends cancelled and the value is dropped.
    #[cold]
    #[inline(never)]
    fn cancelled_at_end(&mut self, v: F::Output) -> Poll<Outcome<F::Output>> {
        let c = self.header().begin_delivery();
        self.backstop(Ok(Poll::Ready(v)), c)
    }

    /// A cancellation request is pending at the start of a poll: delivers it through this
    /// poll (`tower_coro::cancel::deliver`) to the innermost cancellation-aware await of the
    /// future; if none takes it, or the future raises it back out, ends the task cancelled
    /// (rare: out of line, so the poll stays small).
    #[cold]
    #[inline(never)]
    fn poll_delivering(&mut self, cx: &mut Context<'_>) -> Poll<Outcome<F::Output>> {
        let h = self.header();
        // The request is being delivered: a `cancel` from now on is a new one.
        let request = h.begin_delivery();
        if self.fut.is_none() {
            return Poll::Pending;
        }
        if h.flag(F_ABORT, Ordering::Acquire)
            || h.state_byte().load(Ordering::Relaxed) != ST_SUSPENDED_AWARE
        {
            // Aborted, not started, or suspended where nothing takes part: no code after the
            // suspension point runs (asyncio raises there, and nothing catches it).
            return self.backstop(Ok(Poll::Pending), request);
        }
        let mark = cancel::mark();
        let (res, what) = cancel::deliver(request, || self.poll_user(cx));
        match what {
            Delivery::Taken => self.settle(res, mark.aware_since()),
            Delivery::Untaken(c) | Delivery::Raised(c) => self.backstop(res, c),
        }
    }

    /// The cancellation `c` reached the task itself (nothing in its future caught it): the
    /// future is dropped and the task ends cancelled, as asyncio's task does when
    /// `CancelledError` leaves its coroutine — even if the future had just returned a value
    /// (asyncio: a task that cancels itself and then returns is cancelled). A panic, in the
    /// poll or in the drop, wins: errors raised during cancellation are not lost.
    #[cold]
    #[inline(never)]
    fn backstop(&mut self, res: Polled<F::Output>, c: Cancelled) -> Poll<Outcome<F::Output>> {
        if let Err(payload) = res {
            return Poll::Ready(Err(ThinError::new(self.panicked(payload))));
        }
        drop(res);
        if let Err(payload) = self.drop_future_caught() {
            return Poll::Ready(Err(ThinError::new(self.panicked(payload))));
        }
        self.header().finish(ST_CANCELLED);
        Poll::Ready(Err(ThinError::new(TaskError::Cancelled(c))))
    }
}

impl<F> TaskFuture<F> {
    /// The user's future panicked with `payload`: drops it, reports the panic if nobody awaits
    /// the task, and finishes the task panicked (rare: out of line).
    #[cold]
    #[inline(never)]
    fn panicked(&mut self, payload: Box<dyn Any + Send>) -> TaskError {
        // A second panic, from the future's destructors, is dropped: the first is reported.
        drop(self.drop_future_caught());
        let h = self.header();
        let panicked = Panicked::new(payload);
        if h.flag(F_DETACHED, Ordering::Acquire) {
            // asyncio's "Task exception was never retrieved": nobody awaits it.
            if let Ok(lp) = get_running_loop() {
                let mut ctx = ExceptionContext::new(format!(
                    "task {:?} (id {}) panicked and nobody awaits it: {}",
                    h.name(),
                    h.id(),
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
            h.state_byte().store(ST_CANCELLED, Ordering::SeqCst);
            // Callbacks of a task dropped with its loop are dropped unrun.
            let cbs = h
                .extra_if_any()
                .map(|mut e| std::mem::take(&mut e.callbacks));
            drop(cbs);
        }
        let h = self.header();
        h.registry().remove(self.slot);
        // Release the registry's reference count (taken in `spawn_in`). Whoever is dropping
        // this future (a runnable being run or dropped) holds another, so the allocation —
        // and `h` — outlive this call.
        drop(std::mem::ManuallyDrop::into_inner(h.home()));
    }
}
