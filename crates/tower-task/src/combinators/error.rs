//! The errors of the structured-concurrency combinators (asyncio's `TimeoutError`,
//! `ExceptionGroup` and the `RuntimeError`s of `TaskGroup.create_task`), re-exported from
//! [`crate::error`].

use std::error::Error;
use std::fmt;

use crate::error::{SpawnError, TaskError};

/// A deadline passed before the future completed (asyncio's `TimeoutError`).
///
/// Returned by [`timeout`](crate::timeout), [`timeout_at`](crate::timeout_at),
/// [`wait_for`](crate::wait_for), [`wait_for_task`](crate::wait_for_task),
/// [`timeout_scope`](crate::timeout_scope) and a timed [`as_completed`](crate::as_completed).
/// A timeout returns it once the cancellation its deadline sent into the future came back out
/// of it: whatever the future awaited has been cancelled and waited for (a task's cleanup has
/// run), and the future has been dropped.
///
/// ```
/// use tower_task::error::TimeoutError;
///
/// assert_eq!(TimeoutError.to_string(), "deadline elapsed before the future completed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed before the future completed")
    }
}

impl Error for TimeoutError {}

/// Why [`TaskGroup::create_task`](crate::TaskGroup::create_task) refused a task (asyncio's
/// `RuntimeError("TaskGroup ... is shutting down")` / `"is finished"`). The future passed in has
/// been dropped without being polled.
///
/// ```
/// use tower_task::error::CreateTaskError;
///
/// assert!(CreateTaskError::ShuttingDown.to_string().contains("shutting down"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateTaskError {
    /// A child or the body failed, or the group's parent was cancelled (or the group future
    /// was dropped): the group is cancelling its tasks and takes no new ones.
    ShuttingDown,
    /// The group has finished: its body and every child completed.
    Finished,
    /// The task could not be spawned (no tower event loop runs on this thread).
    Spawn(SpawnError),
}

impl fmt::Display for CreateTaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateTaskError::ShuttingDown => f.write_str(
                "the TaskGroup is shutting down (a task failed or it was cancelled); \
                 it accepts no new tasks",
            ),
            CreateTaskError::Finished => {
                f.write_str("the TaskGroup is finished; create the task in a new group")
            }
            CreateTaskError::Spawn(e) => write!(f, "the TaskGroup could not spawn the task: {e}"),
        }
    }
}

impl Error for CreateTaskError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CreateTaskError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// One failure collected by a [`TaskGroup`](crate::TaskGroup).
///
/// ```
/// use tower_task::error::Failure;
///
/// let f: Failure<&str> = Failure::Child("boom");
/// assert_eq!(f.to_string(), "a task failed: boom");
/// assert_eq!(f.error(), Some(&"boom"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E> {
    /// A child task returned `Err(e)`.
    Child(E),
    /// The group's body returned `Err(e)`.
    Body(E),
    /// A child task panicked (also while its future was dropped during its cancellation);
    /// the panic's message.
    Panic(String),
}

impl<E> Failure<E> {
    /// The error value, unless this is a panic.
    pub fn error(&self) -> Option<&E> {
        match self {
            Failure::Child(e) | Failure::Body(e) => Some(e),
            Failure::Panic(_) => None,
        }
    }

    /// The error value, unless this is a panic.
    pub fn into_error(self) -> Option<E> {
        match self {
            Failure::Child(e) | Failure::Body(e) => Some(e),
            Failure::Panic(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Child(e) => write!(f, "a task failed: {e}"),
            Failure::Body(e) => write!(f, "the group's body failed: {e}"),
            Failure::Panic(msg) => write!(f, "a task panicked: {msg}"),
        }
    }
}

/// Any printable error makes a `Failure` an [`Error`] (also `&str`, `String` and
/// `Box<dyn Error + Send + Sync>`, which are not `Error`s themselves), so that a group's error
/// goes into a `Box<dyn Error + Send + Sync>` with `?`. The failure's message includes its
/// error's, so it has no [`source`](Error::source).
impl<E: fmt::Debug + fmt::Display> Error for Failure<E> {}

/// Every failure of a [`TaskGroup`](crate::TaskGroup) (asyncio's
/// `ExceptionGroup("unhandled errors in a TaskGroup", errors)`): the children's, in the order
/// they happened, then the body's.
///
/// The first failure made the group cancel its other tasks and its body; nothing raised during
/// that cancellation is lost: failures that raced with it (a child failing in the same loop
/// iteration), children whose cleanup failed after catching their cancellation (an `Err` or a
/// panic, also one in a destructor), and an `Err` the body returned after catching its own
/// are all here.
///
/// ```
/// use tower_task::error::{Failure, TaskGroupError};
///
/// let e = TaskGroupError { errors: vec![Failure::Child("a"), Failure::Body("b")] };
/// assert_eq!(
///     e.to_string(),
///     "unhandled errors in a TaskGroup (2 sub-errors): \
///      a task failed: a; the group's body failed: b"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskGroupError<E> {
    /// The failures: the children's oldest first, then the body's; never empty when returned
    /// by a group.
    pub errors: Vec<Failure<E>>,
}

impl<E> TaskGroupError<E> {
    /// The errors returned by children and body (panics left out), oldest first.
    pub fn errors(&self) -> impl Iterator<Item = &E> {
        self.errors.iter().filter_map(Failure::error)
    }

    /// Number of failures.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are no failures (never the case for an error a group returned).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl<E: fmt::Display> fmt::Display for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "unhandled errors in a TaskGroup ({n} sub-error{})",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, e) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// As for [`Failure`]: any printable error, so that `?` turns a group's error into a
/// `Box<dyn Error + Send + Sync>` (when `E` is `Send + Sync + 'static`).
///
/// ```
/// use std::error::Error;
/// use tower_loop::EventLoop;
/// use tower_task::TaskGroup;
///
/// fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
///     let lp = EventLoop::new()?;
///     let r = lp.run_until_complete(TaskGroup::run(|tg| async move {
///         tg.create_task(async { Err::<(), _>("boom") }).unwrap();
///         Ok(())
///     }))?;
///     let e: Box<dyn Error + Send + Sync> = r.unwrap_err().into();
///     assert!(e.to_string().contains("a task failed: boom"));
///     Ok(())
/// }
/// ```
impl<E: fmt::Debug + fmt::Display + 'static> Error for TaskGroupError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.errors.first().map(|e| e as &(dyn Error + 'static))
    }
}

/// Why a child of [`try_gather`](crate::try_gather) gave no value: it returned `Err(e)`, or its
/// task was cancelled or panicked.
///
/// ```
/// use tower_task::error::GatherError;
///
/// let e: GatherError<&str> = GatherError::Failed("boom");
/// assert_eq!(e.to_string(), "a gathered task failed: boom");
/// ```
#[derive(Debug)]
pub enum GatherError<E> {
    /// The child returned `Err(e)`.
    Failed(E),
    /// The child's task was cancelled or panicked.
    Task(TaskError),
}

impl<E> GatherError<E> {
    /// The child's error value, if it returned one.
    pub fn failed(&self) -> Option<&E> {
        match self {
            GatherError::Failed(e) => Some(e),
            GatherError::Task(_) => None,
        }
    }

    /// Whether the child's task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, GatherError::Task(t) if t.is_cancelled())
    }
}

impl<E> From<TaskError> for GatherError<E> {
    fn from(e: TaskError) -> Self {
        GatherError::Task(e)
    }
}

impl<E: fmt::Display> fmt::Display for GatherError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatherError::Failed(e) => write!(f, "a gathered task failed: {e}"),
            GatherError::Task(e) => write!(f, "a gathered task gave no value: {e}"),
        }
    }
}

impl<E: Error + 'static> Error for GatherError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            GatherError::Failed(e) => Some(e),
            GatherError::Task(e) => Some(e),
        }
    }
}
