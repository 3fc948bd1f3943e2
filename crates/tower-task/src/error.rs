//! The errors of tier 4, as types: why awaiting a task gave no value ([`TaskError`]), why a
//! task could not be spawned ([`SpawnError`]), why [`run`](crate::run) failed ([`RunError`]).
//!
//! (The combinators add their own error types at the end of this file.)

use std::fmt;
use std::io;
use std::sync::Mutex;

use tower_coro::{PanicPayload, panic_message};

pub use tower_future::error::{Cancelled, InvalidStateError};
pub use tower_loop::error::NoRunningLoop;

/// Why awaiting a [`Task`](crate::Task) gave no value.
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_task::{error::TaskError, spawn};
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let t = spawn(async { tower_coro::pending::<()>().await });
///     t.cancel_with("enough");
///     match t.await {
///         Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("enough")),
///         other => panic!("{other:?}"),
///     }
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TaskError {
    /// The task was cancelled (`Task::cancel`, or its loop closed while it was pending).
    Cancelled(Cancelled),
    /// The task's future panicked; the loop and its other tasks went on.
    Panicked(Panicked),
    /// A task awaited its own handle, which could never complete (asyncio's `RuntimeError:
    /// Task cannot await on itself`); the task goes on.
    AwaitedItself,
    /// A [`TaskGroup`](crate::TaskGroup)'s child returned `Err`: the error itself went to its
    /// group, which reports it in its [`TaskGroupError`] (only a
    /// [`ChildTask`](crate::ChildTask) gives this).
    Failed,
}

impl TaskError {
    /// Whether this is [`TaskError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled(_))
    }

    /// Whether this is [`TaskError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// Whether this is [`TaskError::Failed`] (a group's child returned `Err`).
    pub fn is_failed(&self) -> bool {
        matches!(self, TaskError::Failed)
    }

    /// The panic payload, if the task panicked (to `std::panic::resume_unwind` it).
    pub fn into_panic(self) -> Option<PanicPayload> {
        match self {
            TaskError::Panicked(p) => Some(p.into_payload()),
            TaskError::Cancelled(_) | TaskError::AwaitedItself | TaskError::Failed => None,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled(c) => write!(f, "the task was {c}"),
            TaskError::Panicked(p) => p.fmt(f),
            TaskError::AwaitedItself => {
                f.write_str("a task awaited its own handle, which can never complete")
            }
            TaskError::Failed => f.write_str(
                "the task returned an error, which its TaskGroup reports in its TaskGroupError",
            ),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskError::Cancelled(c) => Some(c),
            TaskError::Panicked(p) => Some(p),
            TaskError::AwaitedItself | TaskError::Failed => None,
        }
    }
}

impl From<Cancelled> for TaskError {
    fn from(c: Cancelled) -> Self {
        TaskError::Cancelled(c)
    }
}

/// Why [`ConcurrentFuture::result`](crate::ConcurrentFuture::result) gave no value.
///
/// ```
/// use tower_task::error::ThreadsafeError;
///
/// assert_eq!(
///     ThreadsafeError::Timeout.to_string(),
///     "the future submitted to the loop did not finish in time; call result again to keep waiting"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ThreadsafeError {
    /// The timeout passed before the outcome was set; the future still runs.
    Timeout,
    /// It was cancelled (on the loop, or through `ConcurrentFuture::cancel`).
    Cancelled(Cancelled),
    /// The submitted future panicked on the loop.
    Panicked(Panicked),
    /// The value was taken by an earlier `result` call.
    Taken,
}

impl fmt::Display for ThreadsafeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadsafeError::Timeout => f.write_str(
                "the future submitted to the loop did not finish in time; call result again to keep waiting",
            ),
            ThreadsafeError::Cancelled(c) => write!(f, "the future submitted to the loop was {c}"),
            ThreadsafeError::Panicked(p) => p.fmt(f),
            ThreadsafeError::Taken => {
                f.write_str("the value was already taken by an earlier call to result")
            }
        }
    }
}

impl std::error::Error for ThreadsafeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ThreadsafeError::Cancelled(c) => Some(c),
            ThreadsafeError::Panicked(p) => Some(p),
            ThreadsafeError::Timeout | ThreadsafeError::Taken => None,
        }
    }
}

/// A task's future panicked: holds the panic payload (take it with
/// [`into_payload`](Self::into_payload)) and its message.
pub struct Panicked {
    /// Boxed, so that a `TaskError` stays two words: panics are rare. (A task's output slot,
    /// in every task's allocation, keeps its `TaskError` behind one more pointer.)
    inner: Box<PanickedInner>,
}

/// What [`Panicked`] holds.
struct PanickedInner {
    /// The panic message, if the payload was a string.
    message: String,
    /// The payload; behind a mutex only so that the error is `Sync` (it is never locked: the
    /// payload is only reached by value).
    payload: Mutex<PanicPayload>,
}

impl Panicked {
    /// Wraps a panic payload.
    pub(crate) fn new(payload: PanicPayload) -> Self {
        Panicked {
            inner: Box::new(PanickedInner {
                message: panic_message(&payload).to_owned(),
                payload: Mutex::new(payload),
            }),
        }
    }

    /// The panic message (`"Box<dyn Any>"` if the payload is not a string).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The panic payload, to `std::panic::resume_unwind` it.
    pub fn into_payload(self) -> PanicPayload {
        let inner = *self.inner;
        inner
            .payload
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panicked")
            .field("message", &self.inner.message)
            .finish()
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the task panicked: {}", self.inner.message)
    }
}

impl std::error::Error for Panicked {}

/// A task could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// No tower event loop runs on this thread; spawn from inside `run_until_complete`, a
    /// callback, or another task (or use [`run`](crate::run)).
    NoRunningLoop,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::NoRunningLoop => f.write_str(
                "cannot spawn a task: no event loop runs on this thread; spawn from code the loop runs",
            ),
        }
    }
}

impl std::error::Error for SpawnError {}

impl From<NoRunningLoop> for SpawnError {
    fn from(_: NoRunningLoop) -> Self {
        SpawnError::NoRunningLoop
    }
}

/// [`run`](crate::run) could not run its future to the end.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The event loop could not be created (out of file descriptors).
    Io(io::Error),
    /// The loop refused to run: another loop runs on this thread (`run` does not nest), or
    /// `stop()` was called before `main` completed.
    Loop(tower_loop::error::RunError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Io(e) => write!(f, "could not create the event loop: {e}"),
            RunError::Loop(e) => write!(f, "run failed: {e}"),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Io(e) => Some(e),
            RunError::Loop(e) => Some(e),
        }
    }
}

// The combinators' errors (TimeoutError, TaskGroupError, ...), defined in combinators/error.rs.
pub use crate::combinators::error::{
    CreateTaskError, Failure, GatherError, TaskGroupError, TimeoutError,
};
