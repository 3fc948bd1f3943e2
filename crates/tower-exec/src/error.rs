//! The crate's error types: what can go wrong running a closure off the loop, shutting a pool
//! down, and signalling a child process.

use std::fmt;
use std::time::Duration;

use tower_coro::{PanicPayload, panic_message};

/// Why a blocking call ([`to_thread`](crate::to_thread), [`run_in_executor`](crate::run_in_executor))
/// produced no value.
///
/// # Examples
///
/// ```
/// use tower_exec::{error::BlockingError, to_thread};
///
/// let err = tower_coro::block_on(to_thread(|| -> u8 { panic!("disk on fire") })).unwrap_err();
/// assert!(matches!(&err, BlockingError::Panicked(_)));
/// assert_eq!(err.panic_message(), Some("disk on fire"));
/// ```
pub enum BlockingError {
    /// The closure panicked; this holds the panic's payload (resume it with
    /// [`std::panic::resume_unwind`] to propagate it).
    Panicked(PanicPayload),
    /// The executor had been shut down, so the closure was never run.
    Shutdown,
    /// The executor dropped the job without running it (a custom [`Executor`](crate::Executor)
    /// that discards work, or a pool torn down mid-queue).
    Dropped,
}

impl BlockingError {
    /// The message of the panic, if this is [`BlockingError::Panicked`] with a string payload
    /// (`"Box<dyn Any>"` for other payloads).
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            BlockingError::Panicked(p) => Some(panic_message(p)),
            _ => None,
        }
    }

    /// The panic payload, if the closure panicked; otherwise gives `self` back.
    ///
    /// # Errors
    ///
    /// `Err(self)` when this is not a panic.
    pub fn into_panic(self) -> Result<PanicPayload, BlockingError> {
        match self {
            BlockingError::Panicked(p) => Ok(p),
            other => Err(other),
        }
    }
}

impl fmt::Debug for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockingError::Panicked(p) => {
                f.debug_tuple("Panicked").field(&panic_message(p)).finish()
            }
            BlockingError::Shutdown => f.write_str("Shutdown"),
            BlockingError::Dropped => f.write_str("Dropped"),
        }
    }
}

impl fmt::Display for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockingError::Panicked(p) => {
                write!(f, "the blocking closure panicked: {}", panic_message(p))
            }
            BlockingError::Shutdown => f.write_str(
                "the executor has been shut down; create a new one or call set_default_executor",
            ),
            BlockingError::Dropped => f.write_str(
                "the executor dropped the job without running it; check that it is still running",
            ),
        }
    }
}

impl std::error::Error for BlockingError {}

/// A pool's threads did not all finish within the shutdown timeout (asyncio warns
/// "The executor did not finishing joining its threads within N seconds").
///
/// The threads keep running; they exit when their current closure returns and the queue is empty.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_exec::error::ShutdownTimeout;
///
/// let e = ShutdownTimeout { timeout: Duration::from_secs(1), threads_left: 2 };
/// assert!(e.to_string().contains("2 thread"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownTimeout {
    /// The timeout that passed.
    pub timeout: Duration,
    /// How many threads were still running when it passed.
    pub threads_left: usize,
}

impl fmt::Display for ShutdownTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the executor did not finish joining its threads within {:?}: {} thread(s) still \
             running (they exit when their closure returns)",
            self.timeout, self.threads_left
        )
    }
}

impl std::error::Error for ShutdownTimeout {}

/// The awaiting side of a [`to_thread_cancellable`](crate::to_thread_cancellable) call is gone:
/// what [`CancelToken::check`](crate::CancelToken::check) returns so a closure can stop with `?`.
///
/// # Examples
///
/// ```
/// use tower_exec::error::Cancelled;
///
/// assert_eq!(Cancelled.to_string(), "the awaiting future was dropped; stop the work");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the awaiting future was dropped; stop the work")
    }
}

impl std::error::Error for Cancelled {}

/// The child has already been reaped, so it can no longer be signalled (asyncio's
/// `ProcessLookupError`). Carried inside an [`std::io::Error`] of kind `NotFound`.
///
/// # Examples
///
/// ```
/// use tower_exec::error::ProcessLookupError;
///
/// let e = ProcessLookupError { pid: 42 };
/// assert!(e.to_string().contains("42"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessLookupError {
    /// The pid the child had.
    pub pid: u32,
}

impl fmt::Display for ProcessLookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "process {} has exited and been reaped; it can no longer be signalled",
            self.pid
        )
    }
}

impl std::error::Error for ProcessLookupError {}

/// `stderr` was set to [`Stdio::Stdout`](crate::Stdio::Stdout), or `stdin`/`stdout` to it, where
/// it means nothing. Carried inside an [`std::io::Error`] of kind `InvalidInput`.
///
/// # Examples
///
/// ```
/// use tower_exec::error::InvalidStdio;
///
/// assert!(InvalidStdio { stream: "stdin" }.to_string().contains("stdin"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvalidStdio {
    /// Which stream was misconfigured.
    pub stream: &'static str,
}

impl fmt::Display for InvalidStdio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Stdio::Stdout is only valid for stderr, but was given for {}",
            self.stream
        )
    }
}

impl std::error::Error for InvalidStdio {}
