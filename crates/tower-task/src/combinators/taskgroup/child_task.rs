//! [`ChildTask`]: the handle [`TaskGroup::create_task`](super::TaskGroup::create_task) gives —
//! awaiting it gives the child's value, or why there is none, as one `Result`.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::TaskError;
use crate::{Task, TaskRef};

/// A task in a [`TaskGroup`](crate::TaskGroup) (what asyncio's `tg.create_task(coro)` returns).
/// Awaiting it gives `Ok(value)` if the child returned `Ok(value)`, else a [`TaskError`]:
/// [`Failed`](TaskError::Failed) if it returned `Err` (the error itself went to the group,
/// which reports it in its [`TaskGroupError`](crate::error::TaskGroupError)),
/// [`Cancelled`](TaskError::Cancelled) or [`Panicked`](TaskError::Panicked).
///
/// Everything else a task offers — name, state, [`cancel`](TaskRef::cancel),
/// [`cancel_with`](TaskRef::cancel_with), done callbacks — is on [`TaskRef`], which
/// `ChildTask` dereferences to, as [`Task`] does.
///
/// Dropping a `ChildTask` lets go of the handle only: the group still owns the child, waits
/// for it and cancels it with the others, so dropping it is the usual way to start a child
/// whose value nobody awaits (`tg.create_task(fut)?;`).
///
/// ```
/// use std::error::Error;
/// use tower_loop::EventLoop;
/// use tower_task::TaskGroup;
///
/// type BoxError = Box<dyn Error + Send + Sync>;
///
/// let lp = EventLoop::new().unwrap();
/// let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
///     let a = tg.create_task(async { Ok::<_, BoxError>(20) })?;
///     let b = tg.create_task(async { Ok(22) })?;
///     Ok::<_, BoxError>(a.await? + b.await?)
/// }));
/// assert_eq!(r.unwrap().unwrap(), 42);
/// ```
///
/// # Cancellation
///
/// As for [`Task`]: cancelling a task that awaits a `ChildTask` passes the cancellation on to
/// the child (which is cancelled and waited for).
///
/// # Cancel safety
///
/// Dropping it (or a future awaiting it) mid-way loses nothing: the child keeps running in its
/// group.
pub struct ChildTask<T> {
    /// The child's task: its output is `None` if the child's future returned `Err` (reported
    /// to the group).
    task: Task<Option<T>>,
}

impl<T> ChildTask<T> {
    /// The handle of the child spawned as `task`.
    pub(super) fn new(task: Task<Option<T>>) -> Self {
        ChildTask { task }
    }

    /// The untyped handle of this task.
    #[inline]
    pub fn task_ref(&self) -> &TaskRef {
        self.task.task_ref()
    }

    /// Takes the outcome if the child is done, without waiting (asyncio's `result()`; the
    /// outcome can be taken once): `None` if it is not done yet or the outcome was taken,
    /// else what awaiting it gives.
    ///
    /// ```
    /// use tower_loop::EventLoop;
    /// use tower_task::{sleep, TaskGroup};
    ///
    /// let lp = EventLoop::builder().paused_clock().build().unwrap();
    /// let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
    ///     let mut t = tg.create_task(async { Ok::<_, ()>(5) }).unwrap();
    ///     assert!(t.result().is_none()); // not run yet
    ///     sleep(std::time::Duration::from_millis(1)).await;
    ///     Ok(t.result().unwrap().unwrap())
    /// }));
    /// assert_eq!(r.unwrap(), Ok(5));
    /// ```
    pub fn result(&mut self) -> Option<Result<T, TaskError>> {
        self.task.result().map(flatten)
    }
}

/// The child's task outcome as the child's: `None` (its `Err` went to the group) is
/// [`TaskError::Failed`].
fn flatten<T>(out: Result<Option<T>, TaskError>) -> Result<T, TaskError> {
    out.and_then(|v| v.ok_or(TaskError::Failed))
}

impl<T> Deref for ChildTask<T> {
    type Target = TaskRef;

    #[inline]
    fn deref(&self) -> &TaskRef {
        self.task_ref()
    }
}

impl<T> Future for ChildTask<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready` (or after [`result`](ChildTask::result) took
    /// the outcome).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx).map(flatten)
    }
}

impl<T> fmt::Debug for ChildTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildTask")
            .field("id", &self.id())
            .field("name", &self.get_name())
            .field("state", &self.state())
            .finish()
    }
}
