//! The record a [`TaskGroup`](super::TaskGroup) shares between its future (in the parent task),
//! its handles and its children, and the future each child runs, which reports the child's
//! failure and its end to that record (asyncio's `_tasks`, `_errors`, `_aborting` and
//! `_on_task_done`).
//!
//! Who touches what: the record is behind a poison-free mutex touched by the parent, every
//! child and every `TaskGroup` clone. No user code runs and no waker is woken while it is held;
//! tasks are cancelled after it is released.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;
use tower_coro::panic_message;
use tower_coro::poison_free::{Mutex, MutexGuard};

use super::super::error::{CreateTaskError, Failure};
use crate::TaskRef;

/// The message children are cancelled with when a sibling or the body failed.
pub(super) const ABORT_MSG: &str = "TaskGroup is shutting down: another task failed";
/// The message children are cancelled with when the group's parent was cancelled and the
/// cancellation carried none.
pub(super) const PARENT_MSG: &str = "TaskGroup's parent was cancelled";

/// The shared state (see the module docs for who touches it).
pub(super) struct State<E> {
    /// A failure or a cancellation of the parent has cancelled the children: no new task
    /// (asyncio's `_aborting`).
    pub(super) aborting: bool,
    /// The body has ended (returned or was cancelled): the group is joining (asyncio's
    /// `_exiting`).
    pub(super) exiting: bool,
    /// The group's future has completed.
    pub(super) finished: bool,
    /// Failures of the children, oldest first (the body's own error is added at the end).
    pub(super) errors: Vec<Failure<E>>,
    /// Live children by key; `None` while the child is being spawned.
    pub(super) children: HashMap<u64, Option<TaskRef>>,
    /// Children whose future has ended but whose task may not be marked done yet (a child on
    /// another thread is between the two): the group completes only once they are done. Each
    /// child that leaves takes one done task off it, so it stays about as long as the number
    /// of children ending at the same moment.
    pub(super) ended: Vec<TaskRef>,
    /// The next child key (never reused).
    pub(super) next_key: u64,
    /// The parent's waker, taken by the first event that should wake it.
    pub(super) waker: Option<Waker>,
}

/// The shared record behind a poison-free lock.
pub(super) struct Shared<E> {
    /// Guarded state; never held while running user code, waking or cancelling.
    state: Mutex<State<E>>,
}

impl<E> Shared<E> {
    /// A group that has just started: running, no task.
    pub(super) fn new() -> Shared<E> {
        Shared {
            state: Mutex::new(State {
                aborting: false,
                exiting: false,
                finished: false,
                errors: Vec::new(),
                children: HashMap::new(),
                ended: Vec::new(),
                next_key: 0,
                waker: None,
            }),
        }
    }

    /// Locks the state, ignoring poisoning (no user code runs under this lock).
    pub(super) fn lock(&self) -> MutexGuard<'_, State<E>> {
        self.state.lock()
    }

    /// Starts the abort (asyncio's `_abort`): from now on no task may be added. Returns the
    /// children to cancel (the caller cancels them, outside the lock), or `None` if the group
    /// was aborting already.
    pub(super) fn abort(&self) -> Option<Vec<TaskRef>> {
        let mut st = self.lock();
        if st.aborting {
            return None;
        }
        st.aborting = true;
        Some(st.children.values().flatten().cloned().collect())
    }

    /// [`abort`](Self::abort), if a child failed and the group is not aborting yet (what
    /// asyncio's `_on_task_done` does on a failure). Returns the children to cancel.
    pub(super) fn abort_if_failed(&self) -> Option<Vec<TaskRef>> {
        let mut st = self.lock();
        if st.aborting || st.errors.is_empty() {
            return None;
        }
        st.aborting = true;
        Some(st.children.values().flatten().cloned().collect())
    }

    /// Reserves a child key, unless the group refuses new tasks (asyncio's two
    /// `RuntimeError`s of `create_task`, checked in its order).
    pub(super) fn reserve(&self) -> Result<u64, CreateTaskError> {
        let mut st = self.lock();
        if st.finished || (st.exiting && st.children.is_empty()) {
            return Err(CreateTaskError::Finished);
        }
        if st.aborting {
            return Err(CreateTaskError::ShuttingDown);
        }
        let key = st.next_key;
        st.next_key += 1;
        st.children.insert(key, None);
        Ok(key)
    }

    /// Records the spawned child's handle; cancels the child if the group began aborting
    /// meanwhile (an eager child failed, or another thread aborted it).
    pub(super) fn register(&self, key: u64, task: &TaskRef) {
        let cancel = {
            let mut st = self.lock();
            let aborting = st.aborting;
            match st.children.get_mut(&key) {
                // Still running (an eager child may already have ended and left).
                Some(slot) => {
                    *slot = Some(task.clone());
                    aborting
                }
                None => false,
            }
        };
        if cancel {
            task.cancel_with(ABORT_MSG);
        }
    }

    /// The child `key` has ended (its future is gone), with `failure` if it failed: records
    /// the failure, and wakes the parent if there is one or the child was the last.
    fn leave(&self, key: u64, failure: Option<Failure<E>>) {
        let (waker, gone) = {
            let mut st = self.lock();
            let failed = failure.is_some();
            if let Some(f) = failure {
                st.errors.push(f);
            }
            // A task that left earlier and is done now needs no watching any more (released
            // after the lock: releasing a task's last reference frees it).
            let gone = st
                .ended
                .iter()
                .position(TaskRef::done)
                .map(|i| st.ended.swap_remove(i));
            if let Some(Some(task)) = st.children.remove(&key) {
                st.ended.push(task);
            }
            let waker = if failed || st.children.is_empty() {
                st.waker.take()
            } else {
                None
            };
            (waker, gone)
        };
        drop(gone);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<E> fmt::Debug for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        let phase = match (st.finished, st.aborting, st.exiting) {
            (true, ..) => "finished",
            (false, true, _) => "aborting",
            (false, false, true) => "joining",
            (false, false, false) => "running",
        };
        f.debug_struct("TaskGroup")
            .field("phase", &phase)
            .field("tasks", &st.children.len())
            .field("errors", &st.errors.len())
            .finish()
    }
}

/// A child's membership of its group: leaves the group when dropped (however the child ends,
/// even dropped unpolled).
pub(super) struct ChildGuard<E> {
    /// The group; `None` once left.
    shared: Option<Arc<Shared<E>>>,
    /// The child's key in `State::children`.
    key: u64,
}

impl<E> ChildGuard<E> {
    /// The membership of the child reserved as `key`.
    pub(super) fn new(shared: Arc<Shared<E>>, key: u64) -> ChildGuard<E> {
        ChildGuard {
            shared: Some(shared),
            key,
        }
    }

    /// Leaves the group, reporting `failure`.
    fn leave(&mut self, failure: Option<Failure<E>>) {
        if let Some(shared) = self.shared.take() {
            shared.leave(self.key, failure);
        }
    }
}

impl<E> Drop for ChildGuard<E> {
    fn drop(&mut self) {
        self.leave(None);
    }
}

pin_project! {
    /// The future a child task runs: the user's future, whose `Err` or panic is reported to
    /// the group; the child leaves the group only once the user's future is gone (dropped
    /// after it completed, or by its cancellation), so a group that has no child left has no
    /// child code left to run. A panic while the user's future is dropped (cleanup that fails
    /// during the cancellation) is reported too, then goes on (the task ends panicked).
    pub(super) struct Child<F, E> {
        // Declared before `guard`: dropped first.
        #[pin]
        fut: Option<F>,
        guard: ChildGuard<E>,
    }

    impl<F, E> PinnedDrop for Child<F, E> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut fut = this.fut;
            if fut.is_none() {
                return;
            }
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| fut.set(None))) {
                let msg = panic_message(&payload).to_owned();
                this.guard.leave(Some(Failure::Panic(msg)));
                resume_unwind(payload);
            }
        }
    }
}

impl<F, E> Child<F, E> {
    /// The child running `fut` as the group member `guard`.
    pub(super) fn new(guard: ChildGuard<E>, fut: F) -> Child<F, E> {
        Child {
            fut: Some(fut),
            guard,
        }
    }
}

impl<F, T, E> Future for Child<F, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut this = self.project();
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            // Completed: its task does not poll it again.
            return Poll::Pending;
        };
        let out = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(r)) => Ok(r),
            Err(payload) => Err(payload),
        };
        // The user's future is over: drop it before leaving the group.
        let dropped = catch_unwind(AssertUnwindSafe(|| this.fut.set(None)));
        let out = match (out, dropped) {
            (Ok(r), Ok(())) => Ok(r),
            // The first panic is the one reported.
            (Err(payload), _) | (Ok(_), Err(payload)) => Err(payload),
        };
        match out {
            Ok(Ok(v)) => {
                this.guard.leave(None);
                Poll::Ready(Some(v))
            }
            Ok(Err(e)) => {
                this.guard.leave(Some(Failure::Child(e)));
                Poll::Ready(None)
            }
            Err(payload) => {
                let msg = panic_message(&payload).to_owned();
                this.guard.leave(Some(Failure::Panic(msg)));
                // The child's own handle reports the panic too.
                resume_unwind(payload)
            }
        }
    }
}
