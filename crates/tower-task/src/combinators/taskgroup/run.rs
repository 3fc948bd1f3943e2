//! [`TaskGroupRun`]: the future of [`TaskGroup::run`](super::TaskGroup::run) — the body, then
//! the wait for every child, on asyncio's cancellation model (`taskgroups.py`'s
//! `_on_task_done` and `__aexit__`, spelled out as one poll).
//!
//! Everything here belongs to the parent task (the task polling the group); the shared record
//! it talks to is in [`shared`](super::shared).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_coro::cancel::{self, Catcher};

use super::super::error::{Failure, TaskGroupError};
use super::TaskGroup;
use super::shared::{ABORT_MSG, PARENT_MSG, Shared};
use crate::error::Cancelled;
use crate::{TaskRef, current_task};

/// Where the group's future is in its life.
#[derive(Debug)]
enum Stage {
    /// Not polled yet: the parent task is not known.
    New,
    /// Polled: the body runs or the group joins.
    Running,
    /// Completed with a value.
    Done,
    /// Completed by raising this cancellation (a later poll raises it again).
    Raised(Cancelled),
}

/// The parent's side of the group: what asyncio keeps on the `TaskGroup` object and in the
/// locals of `__aexit__`.
struct RunState<T, E> {
    /// Where the future is.
    stage: Stage,
    /// The catching scope around the body (asyncio's `async with` block catching what the body
    /// raises).
    catcher: Catcher,
    /// The task that polls the group (asyncio's `_parent_task`), recorded at the first poll;
    /// `None` when the group runs outside a task (given to `run_until_complete`/`block_on`).
    parent: Option<TaskRef>,
    /// The group asked for the parent's cancellation to stop the body after a child failed
    /// (asyncio's `_parent_cancel_requested`): it withdraws that request when it ends.
    parent_cancel_requested: bool,
    /// Outside a task: the group's own request, to deliver into the body at the next poll.
    own_request: Option<Cancelled>,
    /// Outside a task: requests from outside (an enclosing scope delivering its own) that
    /// reached the group; with `parent_cancel_requested` they stand in for the parent's
    /// `cancelling()` count.
    outside_requests: u32,
    /// The body's value.
    value: Option<T>,
    /// The body's own error (asyncio adds it to the errors last).
    body_error: Option<E>,
    /// A cancellation to re-raise when the group ends (asyncio's
    /// `propagate_cancellation_error`): one raised out of the body, or one that came while
    /// joining before the group was aborting.
    propagate: Option<Cancelled>,
    /// The last cancellation that came while joining (asyncio's `pending_cancellation_error`).
    pending: Option<Cancelled>,
}

pin_project! {
    /// The future of [`TaskGroup::run`]: the body, then the wait for every child.
    ///
    /// # Cancellation
    ///
    /// The group is a cancellation-aware await (decision 0006). A cancellation of the parent
    /// task is delivered into the body; if nothing inside takes it (or the body raises it), the
    /// group drops the body, cancels every child, waits for all of them and then raises the
    /// cancellation on — unless a child or the body failed: errors win, the group returns them
    /// and asks for the parent's cancellation again (at its next await). A request arriving
    /// while the group joins does the same.
    ///
    /// # Cancel safety
    ///
    /// Dropping it (a hard cancel: the parent task's future dropped, the loop closing) drops
    /// the body and cancels every child still running, without waiting for them: their
    /// futures are dropped (or their cancellation delivered) at their next poll.
    ///
    /// # Panics
    ///
    /// If polled again after it completed with a value ("`TaskGroupRun` polled after
    /// completion"; after it raised a cancellation on, a poll raises it again). A panic of the body propagates to the
    /// parent (the children are cancelled as the future is dropped during unwinding).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{TaskGroup, TaskGroupRun};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let run: TaskGroupRun<_, _, ()> = TaskGroup::run(|_tg| async { Ok(1) });
    /// assert_eq!(lp.run_until_complete(run).unwrap(), Ok(1));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TaskGroupRun<F, T, E> {
        #[pin]
        body: Option<F>,
        group: TaskGroup<E>,
        st: RunState<T, E>,
    }

    impl<F, T, E> PinnedDrop for TaskGroupRun<F, T, E> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if matches!(this.st.stage, Stage::Done | Stage::Raised(_)) {
                return;
            }
            let to_cancel = {
                let mut st = this.group.shared.lock();
                st.aborting = true;
                st.waker = None;
                st.children.values().flatten().cloned().collect::<Vec<_>>()
            };
            for t in to_cancel {
                t.cancel_with(PARENT_MSG);
            }
            // The group's own request dies with it.
            if this.st.parent_cancel_requested {
                if let Some(p) = &this.st.parent {
                    p.uncancel();
                }
            }
        }
    }
}

impl<F, T, E> TaskGroupRun<F, T, E> {
    /// The future running `body` in `group`.
    pub(super) fn new(body: F, group: TaskGroup<E>) -> Self {
        TaskGroupRun {
            body: Some(body),
            group,
            st: RunState {
                stage: Stage::New,
                catcher: Catcher::new(),
                parent: None,
                parent_cancel_requested: false,
                own_request: None,
                outside_requests: 0,
                value: None,
                body_error: None,
                propagate: None,
                pending: None,
            },
        }
    }

    /// The group (another handle to it).
    pub fn group(&self) -> &TaskGroup<E> {
        &self.group
    }
}

impl<F, T, E> fmt::Debug for TaskGroupRun<F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupRun")
            .field("group", &self.group)
            .field("body_running", &self.body.is_some())
            .field("parent_cancel_requested", &self.st.parent_cancel_requested)
            .finish()
    }
}

/// Cancels `tasks` (outside the group's lock).
fn cancel_all(tasks: Option<Vec<TaskRef>>, msg: &str) {
    for t in tasks.into_iter().flatten() {
        t.cancel_with(msg);
    }
}

impl<T, E> RunState<T, E> {
    /// A child failed and the group was not aborting: abort, and stop the body with the
    /// group's own cancellation request (asyncio's `_on_task_done`: `_abort()`, then
    /// `_parent_task.cancel()`), delivered into the body at the parent's next poll. Returns
    /// whether it did.
    fn abort_on_failure(&mut self, shared: &Shared<E>) -> bool {
        let Some(children) = shared.abort_if_failed() else {
            return false;
        };
        cancel_all(Some(children), ABORT_MSG);
        self.parent_cancel_requested = true;
        match &self.parent {
            // Counted (`cancelling()` is 1 in the body), and wakes the parent.
            Some(p) => {
                p.cancel();
            }
            None => self.own_request = Some(Cancelled::new(None)),
        }
        true
    }

    /// A cancellation came out of the body (nothing inside took the request, or the body
    /// raised one): the body is gone; abort with the cancellation's message, and re-raise it
    /// at the end (asyncio's `__aexit__` entered with `CancelledError`).
    fn body_cancelled(&mut self, c: Cancelled, shared: &Shared<E>) {
        shared.lock().exiting = true;
        cancel_all(shared.abort(), c.message().unwrap_or(PARENT_MSG));
        self.propagate = Some(c);
    }

    /// A request came while the group joins (asyncio's `await self._on_completed_fut`
    /// raising): it is the group's own, or the parent was cancelled from outside, which aborts
    /// the group and is re-raised at the end.
    fn joining_cancelled(&mut self, c: Cancelled, shared: &Shared<E>) {
        if let Some(children) = shared.abort() {
            cancel_all(Some(children), c.message().unwrap_or(PARENT_MSG));
            self.propagate = Some(c.clone());
        }
        self.pending = Some(c);
    }

    /// The body ended with `out`.
    fn body_ended(&mut self, out: Result<T, E>, shared: &Shared<E>) {
        shared.lock().exiting = true;
        match out {
            Ok(v) => self.value = Some(v),
            Err(e) => {
                // asyncio's `__aexit__` entered with an exception: abort.
                cancel_all(shared.abort(), ABORT_MSG);
                self.body_error = Some(e);
            }
        }
    }

    /// Every child has ended and the body too: the group's outcome (asyncio's `__aexit__`
    /// after its wait). `Err(c)`: re-raise the cancellation `c`.
    fn outcome(
        &mut self,
        mut errors: Vec<Failure<E>>,
    ) -> Result<Result<T, TaskGroupError<E>>, Cancelled> {
        if self.parent_cancel_requested {
            // Withdraw the group's own request; if none is left, the cancellation was only
            // the group's and does not go on.
            let left = match &self.parent {
                Some(p) => p.uncancel(),
                None => self.outside_requests,
            };
            if left == 0 {
                self.propagate = None;
            } else if self.propagate.is_none() {
                // The request left is not the group's: it goes on (gh-155433).
                self.propagate = self.pending.take();
            }
        }
        let body_error = self.body_error.take();
        if errors.is_empty() && body_error.is_none() {
            if let Some(c) = self.propagate.take() {
                return Err(c);
            }
        }
        if let Some(e) = body_error {
            errors.push(Failure::Body(e));
        }
        if !errors.is_empty() {
            // Errors win over a cancellation from outside; keep the parent's count as it is
            // and have the cancellation delivered at its next await.
            if let Some(p) = &self.parent {
                if p.cancelling() > 0 {
                    p.uncancel();
                    // Deferred: a parent that returns the group's error at once ends with
                    // it (asyncio: the ExceptionGroup is raised and wins).
                    p.cancel_deferred(None);
                }
            }
            return Ok(Err(TaskGroupError { errors }));
        }
        match self.value.take() {
            Some(v) => Ok(Ok(v)),
            // Not reached: without a value the body was cancelled, so either the cancellation
            // goes on or a failure stopped the body.
            None => Err(self.propagate.take().unwrap_or_default()),
        }
    }
}

/// Polls the body once inside the group's catching scope; a cancellation it catches, or the
/// body's end, is handled and the body dropped.
fn poll_body<F, T, E>(
    mut body: Pin<&mut Option<F>>,
    st: &mut RunState<T, E>,
    shared: &Shared<E>,
    cx: &mut Context<'_>,
) where
    F: Future<Output = Result<T, E>>,
{
    let scope = match st.catcher.enter() {
        Ok(scope) => scope,
        // Nothing aware was suspended in the body: the request is taken here (the backstop).
        Err(c) => {
            body.set(None);
            st.body_cancelled(c, shared);
            return;
        }
    };
    let polled = match body.as_mut().as_pin_mut() {
        Some(b) => b.poll(cx),
        None => return,
    };
    match polled {
        Poll::Ready(out) => {
            body.set(None);
            st.body_ended(out, shared);
        }
        Poll::Pending => {
            if let Some(c) = st.catcher.exit(scope) {
                body.set(None);
                st.body_cancelled(c, shared);
            }
        }
    }
}

impl<F, T, E> Future for TaskGroupRun<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, TaskGroupError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let st = &mut *this.st;
        let shared = &*this.group.shared;
        match &st.stage {
            Stage::New => {
                st.parent = current_task();
                st.stage = Stage::Running;
            }
            Stage::Running => {}
            Stage::Done => panic!("`TaskGroupRun` polled after completion"),
            Stage::Raised(c) => {
                // Polled again after raising (by a poller that does not take part): raise on.
                cancel::raise(c.clone());
                return Poll::Pending;
            }
        }

        // 1. A request in flight is the parent's (or, outside a task, an enclosing scope's):
        //    it goes into the body first. Outside a task it is counted, and the group's own
        //    request waiting for delivery is merged into it (one delivery, as one throw).
        //    With none in flight, a child failure since the last poll aborts the group and
        //    requests the parent's cancellation; the body is polled once that is delivered.
        let outside = cancel::requested();
        let mut skip_body = false;
        if outside {
            if st.parent.is_none() {
                st.outside_requests = st.outside_requests.saturating_add(1);
                st.own_request = None;
            }
        } else if st.abort_on_failure(shared) {
            skip_body = true;
        }

        // 2. The body, inside the group's catching scope (outside a task, with the group's
        //    own request in flight if there is one).
        if !skip_body && this.body.is_some() {
            match st.own_request.take() {
                Some(c) => {
                    let ((), _) =
                        cancel::deliver(c, || poll_body(this.body.as_mut(), st, shared, cx));
                }
                None => poll_body(this.body.as_mut(), st, shared, cx),
            }
        }
        if this.body.is_none() {
            // Nothing left to deliver the group's own request into.
            st.own_request = None;
        }

        // 3. A request the body did not take (it returned meanwhile), or one that came while
        //    joining.
        if let Some(c) = cancel::take() {
            st.joining_cancelled(c, shared);
        }

        // 4. A child that failed during this poll (an eager one, or one on another thread).
        st.abort_on_failure(shared);
        if st.own_request.is_some() {
            // Outside a task: come back to deliver it.
            cx.waker().wake_by_ref();
        }

        // 5. Register the waker and look at the children under one lock (no lost wake-up):
        //    finished once the body is gone, every child has left and its task is done.
        let (errors, ended) = {
            let mut s = shared.lock();
            let waiting = this.body.is_some() || !s.children.is_empty();
            let unfinished = if waiting {
                None
            } else {
                s.ended.iter().find(|t| !t.done()).cloned()
            };
            if waiting || unfinished.is_some() {
                if waiting && !s.errors.is_empty() && !s.aborting {
                    // A child failed after step 4 while no waker was registered to hear it:
                    // come back at once to abort.
                    drop(s);
                    cx.waker().wake_by_ref();
                } else {
                    match &s.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => s.waker = Some(cx.waker().clone()),
                    }
                    drop(s);
                }
                if let Some(task) = unfinished {
                    // Its future has ended but its task is not marked done yet (it finishes on
                    // another thread): its done callback wakes the group.
                    let waker = cx.waker().clone();
                    task.add_done_callback(move |_| waker.wake());
                }
                cancel::suspended_aware();
                return Poll::Pending;
            }
            s.finished = true;
            s.waker = None;
            (std::mem::take(&mut s.errors), std::mem::take(&mut s.ended))
        };
        drop(ended);
        match st.outcome(errors) {
            Ok(out) => {
                st.stage = Stage::Done;
                Poll::Ready(out)
            }
            Err(c) => {
                st.value = None;
                st.stage = Stage::Raised(c.clone());
                cancel::raise(c);
                Poll::Pending
            }
        }
    }
}
