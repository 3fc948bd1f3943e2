//! [`TaskGroup`]: structured concurrency — tasks that cannot outlive the block that made them,
//! and whose first failure stops the rest (asyncio's `taskgroups.py`).
//!
//! The abort-on-first-error state machine is documented on [`TaskGroup`].
//!
//! Who touches what: the body and the `TaskGroupRun` fields belong to the parent task; the shared
//! record is behind a poison-free mutex touched by the parent, every child's guard and every
//! [`TaskGroup`] clone. No user code runs and no waker is woken while it is held; tasks are
//! cancelled after it is released.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;
use tower_coro::{catch_unwind, panic_message};

use super::error::{CreateTaskError, Failure, TaskGroupError};
use crate::{Builder, Task, TaskRef};

/// Message given to children cancelled because a sibling or the body failed.
const ABORT_MSG: &str = "TaskGroup is shutting down: another task failed";
/// Message given to children cancelled because the group's parent was cancelled.
const PARENT_MSG: &str = "TaskGroup's parent was cancelled";

/// Where a group is in its life (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The body runs.
    Running,
    /// The body returned `Ok`; waiting for the children.
    Joining,
    /// A failure happened, or the parent was cancelled: children cancelled, no new ones.
    Aborting,
    /// Done; the group's future has returned.
    Finished,
}

/// The record shared by the group future, its [`TaskGroup`] handles and its children's guards.
struct State<E> {
    /// The phase.
    phase: Phase,
    /// Failures, oldest first.
    errors: Vec<Failure<E>>,
    /// Live children by key; `None` while the child is being spawned.
    children: HashMap<u64, Option<TaskRef>>,
    /// The next child key (never reused).
    next_key: u64,
    /// The parent's waker, taken by the first event that should wake it.
    waker: Option<Waker>,
}

/// The shared record behind a poison-free lock.
struct Shared<E> {
    /// Guarded state; never held while running user code, waking or cancelling.
    state: Mutex<State<E>>,
}

impl<E> Shared<E> {
    /// Locks the state, ignoring poisoning (no user code runs under this lock).
    fn lock(&self) -> MutexGuard<'_, State<E>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a child's `failure` and wakes the parent, which aborts the group when it runs.
    fn record(&self, failure: Failure<E>) {
        let waker = {
            let mut st = self.lock();
            st.errors.push(failure);
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// If a failure was recorded and the group is not aborting yet, aborts it: every child is
    /// cancelled. Returns whether the group is aborting.
    fn abort_if_failed(&self) -> bool {
        let to_cancel = {
            let mut st = self.lock();
            match st.phase {
                Phase::Aborting | Phase::Finished => return true,
                Phase::Running | Phase::Joining if st.errors.is_empty() => return false,
                Phase::Running | Phase::Joining => {
                    st.phase = Phase::Aborting;
                    collect_children(&st)
                }
            }
        };
        for t in to_cancel {
            t.cancel(Some(ABORT_MSG));
        }
        true
    }
}

/// The live children's handles.
fn collect_children<E>(st: &State<E>) -> Vec<TaskRef> {
    st.children.values().filter_map(|t| t.clone()).collect()
}

/// Lives inside a child's future: reports its failure, and its end (however it ends, even
/// dropped unpolled) to the group.
struct ChildGuard<E> {
    /// The group.
    shared: Arc<Shared<E>>,
    /// The child's key in `State::children`.
    key: u64,
}

impl<E> Drop for ChildGuard<E> {
    fn drop(&mut self) {
        let waker = {
            let mut st = self.shared.lock();
            st.children.remove(&self.key);
            if st.children.is_empty() {
                st.waker.take()
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A handle to a running task group (asyncio's `TaskGroup`, the `tg` in
/// `async with TaskGroup() as tg`): add tasks with [`create_task`](Self::create_task). Cheap to
/// clone, `Send` and `Sync` when `E` is `Send`; clones may be moved into children so that they
/// add siblings. Made by [`TaskGroup::run`].
///
/// Children return `Result<T, E>`: the first `Err` (or panic) cancels the other children and the
/// body, and the group returns every failure in a [`TaskGroupError`], as described below.
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::{sleep, TaskGroup};
///
/// let lp = EventLoop::builder().paused_clock().build().unwrap();
/// let r = lp
///     .run_until_complete(TaskGroup::run(|tg| async move {
///         let a = tg.create_task(async {
///             sleep(Duration::from_secs(1)).await;
///             Ok(1)
///         });
///         let b = tg.create_task(async { Ok(2) });
///         let (a, b) = (a.expect("group running"), b.expect("group running"));
///         // Children's handles: awaiting one gives Ok(Some(value)) (None if it failed).
///         let sum = a.await.unwrap().unwrap() + b.await.unwrap().unwrap();
///         Ok::<_, &str>(sum)
///     }))
///     .unwrap();
/// assert_eq!(r, Ok(3));
///
/// let r = lp
///     .run_until_complete(TaskGroup::run(|tg| async move {
///         tg.spawn(async { Err::<(), _>("boom") }).unwrap();
///         tg.spawn(async {
///             sleep(Duration::from_secs(100)).await; // cancelled by the failure
///             Ok(())
///         })
///         .unwrap();
///         sleep(Duration::from_secs(100)).await; // the body too
///         Ok(())
///     }))
///     .unwrap();
/// assert_eq!(r.unwrap_err().errors().collect::<Vec<_>>(), [&"boom"]);
/// ```
///
/// # The state machine
///
/// A group is one shared record (phase, live children, collected failures, the parent's waker)
/// and the [`TaskGroupRun`] future that owns the body and runs in the parent task.
///
/// ```text
///               body returns Ok(v)             last child ends
///   Running ─────────────────────────▶ Joining ──────────────────▶ Finished: Ok(v)
///      │                                  │
///      │ a child returns Err / panics,    │ a child returns Err / panics
///      │ or the body returns Err          │
///      ▼                                  ▼
///   Aborting ◀────────────────────────────┘
///      │  when the parent next runs: every child is cancelled (TaskRef::cancel), the body is
///      │  dropped without another poll, no task may be added; failures still arriving are kept
///      ▼  last child ends
///   Finished: Err(TaskGroupError { errors })     (the body's Ok value, if any, is dropped)
///
///   any phase but Finished ── TaskGroupRun dropped (the parent was cancelled) ──▶ every
///   child is cancelled; no task may be added.
/// ```
///
/// - **The first failure aborts the group when the parent task next runs**: the failing child
///   records its error and wakes the parent, whose poll cancels every child and drops the body
///   instead of polling it (asyncio's `_on_task_done`, itself run by `call_soon`, cancels the
///   children and the parent, and the body's next `await` raises `CancelledError`; here
///   cancellation is drop). So siblings already scheduled in the same loop iteration still take
///   that step, and their failures are collected too, as in asyncio. The body's own `Err`
///   aborts at once.
/// - **Every failure is collected**, in the order it happened: children's `Err`s, children's
///   panics (as their message; the child's own handle still reports the panic), and the body's
///   `Err`. A child and the body that fail together — the body returns `Err` in the same poll in
///   which a child failed (an eager child, or a child on another worker thread) — are both
///   reported, as asyncio reports a body that raises after a child failed.
/// - **No task outlives its group.** The group future completes only when every child has ended.
///   If the parent is cancelled (the [`TaskGroupRun`] dropped, during the body or while joining),
///   every child is cancelled; each child's future is dropped at its next poll, which happens
///   before any of them runs again.
/// - **`create_task`** is refused once the group is shutting down (`Aborting`, or dropped) and
///   once it is finished (asyncio's two `RuntimeError`s), as a typed
///   [`CreateTaskError`]; while `Joining`, children may still add siblings.
/// - A child's failure that arrives after the group future was dropped has nobody to report to
///   and is dropped.
///
pub struct TaskGroup<E> {
    /// The shared record.
    shared: Arc<Shared<E>>,
}

impl<E> Clone for TaskGroup<E> {
    fn clone(&self) -> Self {
        TaskGroup {
            shared: self.shared.clone(),
        }
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("TaskGroup")
            .field("phase", &st.phase)
            .field("tasks", &st.children.len())
            .field("errors", &st.errors.len())
            .finish()
    }
}

impl<E> TaskGroup<E> {
    /// Runs `body` with a new group (asyncio's `async with TaskGroup() as tg:` block), then
    /// waits for every task created in it.
    ///
    /// Completes with `Ok(v)` if the body returned `Ok(v)` and no child failed, else with
    /// `Err(TaskGroupError)` holding every failure, after every child has ended.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future (the parent task cancelled) drops the body and cancels every
    /// child: no child outlives the group. Their futures are dropped at their next poll.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::TaskGroup;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
    ///     for i in 0..3 {
    ///         tg.spawn(async move { if i < 10 { Ok(()) } else { Err(i) } })
    ///             .expect("the group is running");
    ///     }
    ///     Ok(())
    /// }));
    /// assert_eq!(r.unwrap(), Ok(()));
    /// ```
    pub fn run<B, F, T>(body: B) -> TaskGroupRun<F, T, E>
    where
        B: FnOnce(TaskGroup<E>) -> F,
        F: Future<Output = Result<T, E>>,
    {
        let group = TaskGroup {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    phase: Phase::Running,
                    errors: Vec::new(),
                    children: HashMap::new(),
                    next_key: 0,
                    waker: None,
                }),
            }),
        };
        let body = body(group.clone());
        TaskGroupRun {
            body: Some(body),
            group,
            value: None,
            done: false,
        }
    }

    /// Number of children still running.
    pub fn len(&self) -> usize {
        self.shared.lock().children.len()
    }

    /// Whether no child is running.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().children.is_empty()
    }

    /// Whether the group is shutting down or finished (`create_task` would be refused).
    pub fn is_shutting_down(&self) -> bool {
        matches!(self.shared.lock().phase, Phase::Aborting | Phase::Finished)
    }

    /// Reserves a child key, unless the group refuses new tasks.
    fn reserve(&self) -> Result<u64, CreateTaskError> {
        let mut st = self.shared.lock();
        match st.phase {
            Phase::Aborting => return Err(CreateTaskError::ShuttingDown),
            Phase::Finished => return Err(CreateTaskError::Finished),
            Phase::Joining if st.children.is_empty() => return Err(CreateTaskError::Finished),
            Phase::Running | Phase::Joining => {}
        }
        let key = st.next_key;
        st.next_key += 1;
        st.children.insert(key, None);
        Ok(key)
    }

    /// Records the spawned child's handle (cancelling it if the group began aborting meanwhile).
    fn register(&self, key: u64, task: &TaskRef) {
        let cancel = {
            let mut st = self.shared.lock();
            let aborting = matches!(st.phase, Phase::Aborting | Phase::Finished);
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
            task.cancel(Some(ABORT_MSG));
        }
    }
}

/// The future a child runs: `fut`, with its failure and its end reported to the group.
async fn child<F, T, E>(guard: ChildGuard<E>, fut: F) -> Option<T>
where
    F: Future<Output = Result<T, E>>,
{
    match catch_unwind(AssertUnwindSafe(fut)).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            guard.shared.record(Failure::Child(e));
            None
        }
        Err(payload) => {
            let msg = panic_message(&payload).to_owned();
            guard.shared.record(Failure::Panic(msg));
            drop(guard);
            // The child's own handle reports the panic too.
            std::panic::resume_unwind(payload)
        }
    }
}

impl<E: Send + 'static> TaskGroup<E> {
    /// Spawns `fut` as a task in the group (asyncio's `tg.create_task(coro)`); it starts in a
    /// later loop iteration (at once, with an eager task factory).
    ///
    /// Its handle gives `Ok(Some(value))`, `Ok(None)` if it returned `Err` (the error went to
    /// the group), or `Err(TaskError)` if it was cancelled or panicked. Dropping the handle
    /// detaches it from *you*, not from the group: the group still waits for it and cancels it.
    ///
    /// # Errors
    ///
    /// [`CreateTaskError::ShuttingDown`] once a task or the body failed or the parent was
    /// cancelled; [`CreateTaskError::Finished`] once the group is finished;
    /// [`CreateTaskError::Spawn`] if no tower loop runs on this thread. `fut` is then dropped
    /// unpolled.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{error::CreateTaskError, TaskGroup};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let r = lp.run_until_complete(async {
    ///     let mut kept = None;
    ///     let r = TaskGroup::run(|tg| {
    ///         kept = Some(tg.clone());
    ///         async move { Ok::<_, ()>(tg.create_task(async { Ok(5) }).unwrap().await) }
    ///     })
    ///     .await;
    ///     // The group is over: it takes no more tasks.
    ///     let late = kept.unwrap().spawn(async { Ok(()) });
    ///     (r, late.unwrap_err())
    /// });
    /// let (r, late) = r.unwrap();
    /// assert_eq!(r.unwrap().unwrap(), Some(5));
    /// assert_eq!(late, CreateTaskError::Finished);
    /// ```
    pub fn create_task<F, T>(&self, fut: F) -> Result<Task<Option<T>>, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        self.create_task_with(Builder::new(), fut)
    }

    /// [`create_task`](Self::create_task) without the typed handle, for children whose value
    /// nobody awaits (tokio's `JoinSet::spawn`): returns the untyped [`TaskRef`] (name, state,
    /// `cancel`). The group still waits for the child and collects its failure.
    ///
    /// # Errors
    ///
    /// As [`create_task`](Self::create_task).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::TaskGroup;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
    ///     let t = tg.spawn(async { Err::<(), _>("bad") }).unwrap();
    ///     assert!(!t.done());
    ///     Ok(())
    /// }));
    /// assert_eq!(r.unwrap().unwrap_err().len(), 1);
    /// ```
    pub fn spawn<F, T>(&self, fut: F) -> Result<TaskRef, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        self.create_task(fut).map(|t| t.task_ref().clone())
    }

    /// [`create_task`](Self::create_task) with a task [`Builder`] (a name, eager start).
    ///
    /// # Errors
    ///
    /// As [`create_task`](Self::create_task).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{Builder, TaskGroup};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
    ///     let b = Builder::new().name("child");
    ///     let t = tg.create_task_with(b, async { Ok::<_, ()>(1) }).unwrap();
    ///     assert_eq!(&*t.get_name(), "child");
    ///     Ok(t.await.unwrap())
    /// }));
    /// assert_eq!(r.unwrap(), Ok(Some(1)));
    /// ```
    pub fn create_task_with<F, T>(
        &self,
        builder: Builder,
        fut: F,
    ) -> Result<Task<Option<T>>, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        let key = self.reserve()?;
        let guard = ChildGuard {
            shared: self.shared.clone(),
            key,
        };
        let task = builder
            .spawn(child(guard, fut))
            .map_err(CreateTaskError::Spawn)?;
        self.register(key, task.task_ref());
        Ok(task)
    }

    /// [`create_task`](Self::create_task) for a `!Send` future (it stays on this thread, as
    /// [`spawn_local`](crate::spawn_local)).
    ///
    /// # Errors
    ///
    /// As [`create_task`](Self::create_task).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use tower_loop::EventLoop;
    /// use tower_task::TaskGroup;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
    ///     let local = Rc::new(3);
    ///     let t = tg.create_task_local(async move { Ok::<_, ()>(*local) }).unwrap();
    ///     assert_eq!(t.await.unwrap(), Some(3));
    ///     Ok(())
    /// }));
    /// assert_eq!(r.unwrap(), Ok(()));
    /// ```
    pub fn create_task_local<F, T>(&self, fut: F) -> Result<Task<Option<T>>, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        let key = self.reserve()?;
        let guard = ChildGuard {
            shared: self.shared.clone(),
            key,
        };
        let task = Builder::new()
            .spawn_local(child(guard, fut))
            .map_err(CreateTaskError::Spawn)?;
        self.register(key, task.task_ref());
        Ok(task)
    }
}

pin_project! {
    /// The future of [`TaskGroup::run`]: the body, then the wait for every child.
    ///
    /// # Cancel safety
    ///
    /// Dropping it (the parent task cancelled) drops the body and cancels every child still
    /// running; no child outlives the group.
    ///
    /// # Panics
    ///
    /// If polled again after it completed. A panic of the body propagates to the parent (the
    /// children are cancelled as the future is dropped during unwinding).
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
        value: Option<T>,
        done: bool,
    }

    impl<F, T, E> PinnedDrop for TaskGroupRun<F, T, E> {
        fn drop(this: Pin<&mut Self>) {
            if this.done {
                return;
            }
            let to_cancel = {
                let mut st = this.group.shared.lock();
                st.phase = Phase::Aborting;
                st.waker = None;
                collect_children(&st)
            };
            for t in to_cancel {
                t.cancel(Some(PARENT_MSG));
            }
        }
    }
}

impl<F, T, E> fmt::Debug for TaskGroupRun<F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupRun")
            .field("group", &self.group)
            .field("body_running", &self.body.is_some())
            .finish()
    }
}

impl<F, T, E> TaskGroupRun<F, T, E> {
    /// The group (another handle to it).
    pub fn group(&self) -> &TaskGroup<E> {
        &self.group
    }
}

impl<F, T, E> Future for TaskGroupRun<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, TaskGroupError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(!*this.done, "TaskGroupRun polled after it completed");
        let shared = &this.group.shared;

        // 1. A child failed since the last poll: abort (cancel the children, drop the body).
        // 2. Otherwise poll the body; its `Err` aborts at once.
        // 3. A child that failed during that poll (an eager one) aborts too.
        if this.body.is_some() {
            if shared.abort_if_failed() {
                // Outside the lock: the body's destructors are user code. They cannot add
                // children (the group is aborting).
                this.body.set(None);
            } else if let Some(body) = this.body.as_mut().as_pin_mut() {
                match body.poll(cx) {
                    Poll::Pending => {}
                    Poll::Ready(Ok(v)) => {
                        *this.value = Some(v);
                        this.body.set(None);
                        let mut st = shared.lock();
                        if st.phase == Phase::Running {
                            st.phase = Phase::Joining;
                        }
                    }
                    Poll::Ready(Err(e)) => {
                        this.body.set(None);
                        shared.lock().errors.push(Failure::Body(e));
                    }
                }
            }
        }
        if shared.abort_if_failed() {
            this.body.set(None);
        }

        // 4. Register the waker and look at the children under one lock (no lost wake-up):
        // finished once the body is gone and every child has ended.
        let errors = {
            let mut st = shared.lock();
            if this.body.is_some() || !st.children.is_empty() {
                if !st.errors.is_empty() && matches!(st.phase, Phase::Running | Phase::Joining) {
                    // A child (on another thread) failed after step 3, while no waker was
                    // registered to hear it: come back at once to abort.
                    drop(st);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                match &st.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => st.waker = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            st.phase = Phase::Finished;
            st.waker = None;
            std::mem::take(&mut st.errors)
        };
        *this.done = true;
        let value = this.value.take();
        match value {
            Some(v) if errors.is_empty() => Poll::Ready(Ok(v)),
            // With no error the body returned Ok, so `value` is set; else its value is dropped.
            _ => Poll::Ready(Err(TaskGroupError { errors })),
        }
    }
}
