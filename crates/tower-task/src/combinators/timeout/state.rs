//! The state machine every timeout runs, asyncio's `Timeout` (`__aenter__`, `_on_timeout`,
//! `__aexit__`): whom the deadline cancels, and what the cancellation that comes back becomes.
//!
//! [`Timeout`](super::Timeout) and [`TimeoutScope`](super::TimeoutScope) keep their own timer
//! and ask this machine to [`expire`](TimeoutState::expire) when it fires; each poll of the body
//! goes through [`poll_body`](TimeoutState::poll_body), a catching scope
//! (`tower_coro::cancel::Catcher`) around the body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_coro::cancel::{self, CatchScope, Catcher};

use crate::combinators::error::TimeoutError;
use crate::error::Cancelled;
use crate::task::current_id_and_cancelling;
use crate::{TaskRef, current_task};

/// What the first poll does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Enter and poll the body (`timeout`, `timeout_at`, `wait_for` with a timeout above zero):
    /// asyncio's block runs until its first suspension whatever the deadline.
    Poll,
    /// Expire without ever polling the body (`wait_for(0, f)`: asyncio 3.12 never starts the
    /// coroutine).
    Skip,
    /// Expire at once by delivering the timeout's own request into the body at its first poll
    /// (`wait_for_task(0, t)`: asyncio cancels the task and waits for it).
    Deliver,
}

/// How the deadline asked the body to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    /// The task that entered was cancelled (asyncio's `self._task.cancel()`, counted in its
    /// `cancelling()`); the task delivers the request at its next poll, and the timeout
    /// `uncancel`s when the cancellation comes back.
    Counted,
    /// A request was already in flight when the deadline passed (asyncio: two `cancel()`s before
    /// the task's next step throw one `CancelledError`). It stands for this timeout's too, but
    /// is someone else's: not counted, and re-raised when it comes back unless the count says
    /// nobody else asks any more.
    Merged,
    /// No task (a timeout given straight to `run_until_complete`/`block_on`), or not the one
    /// that entered: the timeout delivers its own request into its body
    /// (`tower_coro::cancel::deliver`).
    Own,
}

/// asyncio's `_State`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Not polled yet (CREATED).
    Created,
    /// Running the body before the deadline (ENTERED).
    Entered,
    /// The deadline passed; the cancellation is on its way into the body (EXPIRING).
    Expiring(Request),
    /// Finished with a value or `TimeoutError` after expiring (EXPIRED).
    Expired,
    /// Finished with a value before the deadline (EXITED).
    Exited,
    /// Finished by raising a cancellation on outward (an outside one); raised again if polled
    /// again, as `reraise` does.
    Raised(Cancelled),
}

/// What one poll of the body inside the catching scope gave.
enum Step<T> {
    /// The body completed.
    Done(T),
    /// A cancellation reached the scope (a request nothing inside took, or one raised inside).
    Caught(Cancelled),
    /// The body is suspended.
    Pending,
}

/// The state of one timeout: asyncio's `Timeout` object minus the timer.
#[derive(Debug)]
pub(super) struct TimeoutState {
    /// Where it is.
    phase: Phase,
    /// What the first poll does.
    start: Start,
    /// The id of the task that entered (0: outside a task). Its handle is taken only at the
    /// deadline: most timeouts never expire, so entering costs no reference count.
    task_id: u64,
    /// The task that entered (asyncio's `self._task`), from the deadline on; `None` before it,
    /// outside a task, or when the timeout is polled by another task than the one that
    /// entered.
    task: Option<TaskRef>,
    /// The task's `cancelling()` on entry (asyncio's `self._cancelling`).
    cancelling: u32,
    /// Whether the deadline passed (asyncio's `expired()`: EXPIRING or EXPIRED).
    expired: bool,
    /// Whether something cancellation-aware was suspended in the body at its last poll.
    catcher: Catcher,
    /// [`Request::Own`]: the request is still to be delivered.
    own_pending: bool,
    /// [`Request::Own`]: a request from outside the timeout came through it after the deadline
    /// (without a task there is no count to ask): what comes back is re-raised.
    foreign: bool,
    /// [`Request::Counted`] made in this poll before the body was polled: the body is not
    /// resumed until the task delivers it (asyncio runs `_on_timeout` before the task's step).
    just_cancelled: bool,
}

impl TimeoutState {
    /// A timeout not polled yet.
    pub(super) fn new(start: Start) -> TimeoutState {
        TimeoutState {
            phase: Phase::Created,
            start,
            task_id: 0,
            task: None,
            cancelling: 0,
            expired: false,
            catcher: Catcher::new(),
            own_pending: false,
            foreign: false,
            just_cancelled: false,
        }
    }

    /// Whether the deadline passed (asyncio's `expired()`).
    pub(super) fn expired(&self) -> bool {
        self.expired
    }

    /// Whether it has finished (by value, `TimeoutError` or a re-raised cancellation).
    pub(super) fn is_done(&self) -> bool {
        matches!(
            self.phase,
            Phase::Expired | Phase::Exited | Phase::Raised(_)
        )
    }

    /// Whether the deadline may still be moved or fire (asyncio's CREATED or ENTERED).
    pub(super) fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Created | Phase::Entered)
    }

    /// Whether the deadline should be checked: entered and not expired.
    pub(super) fn entered(&self) -> bool {
        self.phase == Phase::Entered
    }

    /// At the start of a poll: enters on the first one (asyncio's `__aenter__`: records the
    /// task and its `cancelling()`). `Ok(true)` on the first poll, `Ok(false)` on later ones;
    /// `Err(out)`: the poll ends with `out` at once (`body` dropped if it is `Ready`).
    ///
    /// # Panics
    ///
    /// With `polled_after_completion` as the message, if it already completed with a value or
    /// `TimeoutError` (the futures convention: "`<Type>` polled after completion").
    pub(super) fn begin<F: Future>(
        &mut self,
        mut body: Pin<&mut Option<F>>,
        polled_after_completion: &'static str,
    ) -> Result<bool, Poll<Result<F::Output, TimeoutError>>> {
        match &self.phase {
            Phase::Entered | Phase::Expiring(_) => Ok(false),
            Phase::Created => {
                (self.task_id, self.cancelling) = current_id_and_cancelling();
                self.phase = Phase::Entered;
                match self.start {
                    Start::Poll => {}
                    Start::Skip => {
                        body.set(None);
                        self.expired = true;
                        self.phase = Phase::Expired;
                        return Err(Poll::Ready(Err(TimeoutError)));
                    }
                    Start::Deliver => {
                        self.expired = true;
                        self.phase = Phase::Expiring(Request::Own);
                        self.own_pending = true;
                    }
                }
                Ok(true)
            }
            Phase::Raised(c) => {
                cancel::raise(c.clone());
                Err(Poll::Pending)
            }
            Phase::Expired | Phase::Exited => panic!("{polled_after_completion}"),
        }
    }

    /// The deadline passed (asyncio's `_on_timeout`): cancels the task that entered — counted,
    /// delivered by the task at its next poll — or, without it, makes the timeout deliver its
    /// own request. `body_polled`: the body was already polled in this poll (then it is not
    /// polled again before the request reaches it).
    pub(super) fn expire(&mut self, cx: &mut Context<'_>, body_polled: bool) {
        debug_assert!(self.entered());
        self.expired = true;
        // Outside a task, or polled by another task than the one that entered: there is no
        // count of this timeout's own to keep.
        self.task = current_task().filter(|now| self.task_id != 0 && now.id().0 == self.task_id);
        if cancel::requested() {
            self.phase = Phase::Expiring(Request::Merged);
        } else if let Some(task) = &self.task {
            task.cancel();
            self.phase = Phase::Expiring(Request::Counted);
            self.just_cancelled = !body_polled;
        } else {
            self.phase = Phase::Expiring(Request::Own);
            self.own_pending = true;
            if body_polled {
                cx.waker().wake_by_ref();
            }
        }
    }

    /// Polls the body inside the timeout's catching scope and settles what comes of it: its
    /// value, `TimeoutError`, or a cancellation raised on outward (then `Pending`).
    pub(super) fn poll_body<F: Future>(
        &mut self,
        mut body: Pin<&mut Option<F>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, TimeoutError>> {
        if std::mem::take(&mut self.just_cancelled) {
            // The body waits where it is suspended for the cancellation, as aware.
            cancel::suspended_aware();
            return Poll::Pending;
        }
        let step = if self.phase == Phase::Expiring(Request::Own) && cancel::requested() {
            // Someone else's request comes through after the deadline: it is what comes back.
            self.foreign = true;
            step(&mut self.catcher, body.as_mut(), cx, false)
        } else if std::mem::take(&mut self.own_pending) {
            let force = self.start == Start::Deliver;
            let catcher = &mut self.catcher;
            let (step, _) = cancel::deliver(Cancelled::default(), || {
                step(catcher, body.as_mut(), cx, force)
            });
            step
        } else {
            step(&mut self.catcher, body.as_mut(), cx, false)
        };
        match step {
            Step::Pending => Poll::Pending,
            Step::Done(v) => {
                body.set(None);
                self.completed();
                Poll::Ready(Ok(v))
            }
            Step::Caught(c) => {
                body.set(None);
                match self.caught(c) {
                    None => Poll::Ready(Err(TimeoutError)),
                    Some(c) => {
                        cancel::raise(c.clone());
                        self.phase = Phase::Raised(c);
                        Poll::Pending
                    }
                }
            }
        }
    }

    /// The body completed with a value (asyncio's `__aexit__` without an exception): if the
    /// timeout had cancelled the task, it withdraws that request.
    fn completed(&mut self) {
        let phase = std::mem::replace(&mut self.phase, Phase::Expired);
        match phase {
            Phase::Expiring(Request::Counted) => {
                if let Some(task) = &self.task {
                    if task.uncancel() <= self.cancelling {
                        // Ours, if still on its way: nobody else asks.
                        cancel::withdraw();
                    }
                }
            }
            Phase::Expiring(_) => {}
            _ => self.phase = Phase::Exited,
        }
    }

    /// A cancellation came back out of the body (asyncio's `__aexit__` with `CancelledError`):
    /// `None` if it becomes `TimeoutError`, or the cancellation to raise on.
    fn caught(&mut self, c: Cancelled) -> Option<Cancelled> {
        let phase = std::mem::replace(&mut self.phase, Phase::Expired);
        let outside = match phase {
            Phase::Expiring(Request::Counted) => {
                let left = self.task.as_ref().map_or(0, TaskRef::uncancel);
                left > self.cancelling
            }
            Phase::Expiring(Request::Merged) => match &self.task {
                Some(task) => task.cancelling() > self.cancelling,
                None => true,
            },
            Phase::Expiring(Request::Own) => {
                self.foreign
                    || self
                        .task
                        .as_ref()
                        .is_some_and(|t| t.cancelling() > self.cancelling)
            }
            _ => {
                // Not expiring: an outside cancellation goes on.
                self.phase = Phase::Exited;
                true
            }
        };
        outside.then_some(c)
    }
}

impl Drop for TimeoutState {
    fn drop(&mut self) {
        if self.phase == Phase::Expiring(Request::Counted) {
            // Dropped before the cancellation came back (a hard cancel, or a race won by a
            // sibling): the request is withdrawn, so that the task is not cancelled by a
            // timeout that is gone.
            if let Some(task) = &self.task {
                task.uncancel();
            }
        }
    }
}

/// Polls `body` once inside `catcher`'s scope. `force`: poll it with the request in flight even
/// if nothing aware was suspended in it (its first poll, for a task handle to take it).
fn step<F: Future>(
    catcher: &mut Catcher,
    mut body: Pin<&mut Option<F>>,
    cx: &mut Context<'_>,
    force: bool,
) -> Step<F::Output> {
    let scope = if force {
        CatchScope::enter()
    } else {
        match catcher.enter() {
            Ok(scope) => scope,
            Err(c) => return Step::Caught(c),
        }
    };
    let Some(fut) = body.as_mut().as_pin_mut() else {
        // Unreachable: the body is dropped only when the timeout finishes.
        return Step::Pending;
    };
    match fut.poll(cx) {
        Poll::Ready(v) => Step::Done(v),
        Poll::Pending => match catcher.exit(scope) {
            Some(c) => Step::Caught(c),
            None => Step::Pending,
        },
    }
}
