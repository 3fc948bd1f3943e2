//! [`TaskGroup`]: structured concurrency — tasks that cannot outlive the block that made them,
//! and whose first failure stops the rest (asyncio's `taskgroups.py`), on asyncio's
//! cancellation model (decision 0006).
//!
//! The abort-on-first-error state machine is documented on [`TaskGroup`]. The group's handle
//! and `create_task` are here; a child's handle in [`child_task`]; the shared record and the
//! children's future in [`shared`]; the group's future, which runs the body and waits for the
//! children in the parent task, in [`run`].

mod child_task;
mod run;
mod shared;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::error::CreateTaskError;
use crate::TaskBuilder;
use shared::{Child, ChildGuard, Shared};

pub use child_task::ChildTask;
pub use run::TaskGroupRun;

/// A handle to a running task group (asyncio's `TaskGroup`, the `tg` in
/// `async with TaskGroup() as tg`): add tasks with [`create_task`](Self::create_task). Cheap to
/// clone, `Send` and `Sync` when `E` is `Send`; clones may be moved into children so that they
/// add siblings. Made by [`TaskGroup::run`].
///
/// Children return `Result<T, E>`: the first `Err` (or panic) cancels the other children and the
/// body, and the group returns every failure in a
/// [`TaskGroupError`](crate::error::TaskGroupError), as described below. Each child's
/// [`ChildTask`] handle, awaited, gives its value or a [`TaskError`](crate::error::TaskError);
/// with `E` a `Box<dyn Error + Send + Sync>`, every step is one `?`.
///
/// ```
/// use std::error::Error;
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::{sleep, TaskGroup};
///
/// type BoxError = Box<dyn Error + Send + Sync>;
///
/// fn main() -> Result<(), BoxError> {
///     let lp = EventLoop::builder().paused_clock().build()?;
///     let sum = lp.run_until_complete(TaskGroup::run(|tg| async move {
///         let a = tg.create_task(async {
///             sleep(Duration::from_secs(1)).await;
///             Ok(1)
///         })?;
///         let b = tg.create_task(async { Ok(2) })?;
///         Ok::<_, BoxError>(a.await? + b.await?)
///     }))??;
///     assert_eq!(sum, 3);
///
///     let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
///         tg.create_task(async { Err::<(), BoxError>("boom".into()) })?;
///         tg.create_task(async {
///             sleep(Duration::from_secs(100)).await; // cancelled by the failure
///             Ok(())
///         })?;
///         sleep(Duration::from_secs(100)).await; // the body too
///         Ok(())
///     }))?;
///     let e = r.unwrap_err();
///     assert_eq!(e.to_string(), "unhandled errors in a TaskGroup (1 sub-error): a task failed: boom");
///     assert_eq!(e.errors().map(|e| e.to_string()).collect::<Vec<_>>(), ["boom"]);
///     Ok(())
/// }
/// ```
///
/// The body is cancelled as a task is: it can catch the cancellation, await its cleanup, and
/// re-raise it (or return); the group still reports the child's failure.
///
/// ```
/// use std::time::Duration;
/// use tower_task::{catch_cancel, current_task, reraise, sleep, spawn, TaskGroup};
///
/// tower_task::run(async {
///     let parent = spawn(async {
///         let r = TaskGroup::run(|tg| async move {
///             tg.create_task(async { Err::<(), _>("boom") }).unwrap();
///             if let Err(cancelled) = catch_cancel(sleep(Duration::from_secs(100))).await {
///                 // The group asked for this task's cancellation: it counts.
///                 assert_eq!(current_task().unwrap().cancelling(), 1);
///                 sleep(Duration::from_millis(1)).await; // cleanup that awaits
///                 reraise::<()>(cancelled).await;
///             }
///             Ok(())
///         })
///         .await;
///         // The group withdrew its own request: the task is not being cancelled.
///         assert_eq!(current_task().unwrap().cancelling(), 0);
///         r.unwrap_err().errors().copied().collect::<Vec<_>>()
///     });
///     assert_eq!(parent.await.unwrap(), ["boom"]);
/// })
/// .unwrap();
/// ```
///
/// # The state machine
///
/// A group is one shared record (live children, collected failures, whether it is aborting,
/// the parent's waker) and the [`TaskGroupRun`] future that owns the body and runs in the parent
/// task (asyncio's `_parent_task`; the task polling it when it is first polled).
///
/// ```text
///              body returns Ok(v)                  last child ends
///   Running ───────────────────────────▶ Joining ───────────────────▶ Ok(v)
///      │                                    │
///      │ a child fails (Err or panic):      │ a child fails
///      │ the parent's next poll aborts and  │ (the parent's next poll aborts,
///      │ requests the parent's cancellation │ and requests the cancellation,
///      │ (counted), delivered into the body │ which the join takes)
///      ▼                                    ▼
///   Aborting: every child cancelled, no task may be added; the body runs on until it ends
///      │       (it may catch the cancellation, await cleanup, return or re-raise)
///      ▼  body ended and last child ended
///   the group's request withdrawn (uncancel); Err(TaskGroupError { every failure })
///
///   the parent cancelled from outside (the body lets the cancellation out, or it comes while
///   joining) ──▶ Aborting (children cancelled with its message) ──▶ last child ended ──▶
///   the cancellation raised on, unless something failed: then Err(TaskGroupError) and the
///   cancellation requested again (delivered at the parent's next await)
///
///   TaskGroupRun dropped (hard cancel) ──▶ every child cancelled, nobody waits
/// ```
///
/// - **The first failure aborts the group when the parent task next runs**: the failing child
///   records its error and wakes the parent, whose poll cancels every child and — as asyncio's
///   `_on_task_done` — requests the parent task's cancellation, so the body is cancelled where
///   it is suspended: at its next poll the request goes to its innermost cancellation-aware
///   await (an awaited task is cancelled and waited for, a
///   [`catch_cancel`](crate::catch_cancel) catches it), or, with nothing aware suspended in the
///   body, the group takes it and drops the body. The body's
///   [`cancelling`](crate::TaskRef::cancelling) is then 1; the group withdraws its request when it
///   ends, so the parent goes on uncancelled (asyncio's `_parent_cancel_requested` and
///   `uncancel()`). Siblings already scheduled in the same loop iteration still take that
///   step, and their failures are collected too, as in asyncio. The body's own `Err` aborts
///   the group at once (without cancelling the parent).
/// - **Outside a task** (the group given straight to `run_until_complete` or `block_on`) there
///   is no task to cancel: the group delivers its own request into the body at its next poll
///   (`tower_coro::cancel::deliver`), with the same catching rules.
/// - **A cancellation from outside** (the parent task cancelled, a request the body did not
///   take or a cancellation it raised, or one arriving while joining) aborts the group; it
///   waits for every child, then raises the cancellation on — unless a child or the body
///   failed: errors win, and the parent's cancellation is requested again so that its count
///   stays as it was and it is delivered at the parent's next await (asyncio's `uncancel()` +
///   `cancel()`). The group tells its own request from one from outside by counting, as
///   asyncio does.
/// - **Every failure is collected**: children's `Err`s and panics in the order they happened
///   (a panic as its message; the child's own handle still reports it), including those of
///   children whose cleanup fails after catching their cancellation (an `Err`, a panic, or a
///   panic while the child's future is dropped), then the body's `Err` — also one it returns
///   after catching the group's cancellation.
/// - **No task outlives its group.** The group completes only when its body has ended and
///   every child has ended (its future dropped and its task done), on one loop and on the
///   multi-thread runtime. Dropping the [`TaskGroupRun`] instead cancels every child without
///   waiting (each child's future is dropped, or its cancellation delivered, at its next poll).
/// - **`create_task`** gives the child's [`ChildTask`] handle; dropping it leaves the child to
///   the group. It is refused once the group is shutting down (aborting) and once it is
///   finished (the body ended and no child is left; asyncio's two `RuntimeError`s), as a typed
///   [`CreateTaskError`]; while joining, children may still add siblings.
/// - A child's failure that arrives after the group future was dropped has nobody to report to
///   and is dropped.
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
        fmt::Debug::fmt(&*self.shared, f)
    }
}

impl<E> TaskGroup<E> {
    /// Runs `body` with a new group (asyncio's `async with TaskGroup() as tg:` block), then
    /// waits for every task created in it.
    ///
    /// Completes with `Ok(v)` if the body returned `Ok(v)` and no child failed, else with
    /// `Err(TaskGroupError)` holding every failure, after every child has ended. If the
    /// parent task was cancelled from outside (and nothing failed), it completes by raising
    /// that cancellation on, after every child has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancelling the parent task is delivered into the body and makes the group cancel its
    /// children and wait for them (see [`TaskGroup`]). Dropping the returned future instead (a
    /// hard cancel) drops the body and cancels every child without waiting: their futures are
    /// dropped (or their cancellation delivered) at their next poll.
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
    ///         tg.create_task(async move { if i < 10 { Ok(()) } else { Err(i) } })
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
            shared: Arc::new(Shared::new()),
        };
        let body = body(group.clone());
        TaskGroupRun::new(body, group)
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
        let st = self.shared.lock();
        st.aborting || st.finished
    }
}

impl<E: Send + 'static> TaskGroup<E> {
    /// Spawns `fut` as a task in the group (asyncio's `tg.create_task(coro)`); it starts in a
    /// later loop iteration (at once, with an eager task factory).
    ///
    /// Awaiting its [`ChildTask`] gives `Ok(value)`, `Err(TaskError::Failed)` if it returned
    /// `Err` (the error went to the group), or `Err(TaskError::Cancelled)` /
    /// `Err(TaskError::Panicked)`. Dropping the handle lets go of it, not of the child: the
    /// group still waits for it and cancels it.
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
    ///     let late = kept.unwrap().create_task(async { Ok(()) });
    ///     (r, late.unwrap_err())
    /// });
    /// let (r, late) = r.unwrap();
    /// assert_eq!(r.unwrap().unwrap(), 5);
    /// assert_eq!(late, CreateTaskError::Finished);
    /// ```
    pub fn create_task<F, T>(&self, fut: F) -> Result<ChildTask<T>, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        self.create_task_with(TaskBuilder::new(), fut)
    }

    /// [`create_task`](Self::create_task) with a task [`TaskBuilder`] (a name, eager start).
    ///
    /// # Errors
    ///
    /// As [`create_task`](Self::create_task).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{TaskBuilder, TaskGroup};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
    ///     let b = TaskBuilder::new().name("child");
    ///     let t = tg.create_task_with(b, async { Ok::<_, ()>(1) }).unwrap();
    ///     assert_eq!(&*t.get_name(), "child");
    ///     Ok(t.await.unwrap())
    /// }));
    /// assert_eq!(r.unwrap(), Ok(1));
    /// ```
    pub fn create_task_with<F, T>(
        &self,
        builder: TaskBuilder,
        fut: F,
    ) -> Result<ChildTask<T>, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        let key = self.shared.reserve()?;
        let guard = ChildGuard::new(self.shared.clone(), key);
        let task = builder
            .spawn(Child::new(guard, fut))
            .map_err(CreateTaskError::Spawn)?;
        self.shared.register(key, task.task_ref());
        Ok(ChildTask::new(task))
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
    ///     assert_eq!(t.await.unwrap(), 3);
    ///     Ok(())
    /// }));
    /// assert_eq!(r.unwrap(), Ok(()));
    /// ```
    pub fn create_task_local<F, T>(&self, fut: F) -> Result<ChildTask<T>, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        let key = self.shared.reserve()?;
        let guard = ChildGuard::new(self.shared.clone(), key);
        let task = TaskBuilder::new()
            .spawn_local(Child::new(guard, fut))
            .map_err(CreateTaskError::Spawn)?;
        self.shared.register(key, task.task_ref());
        Ok(ChildTask::new(task))
    }
}
