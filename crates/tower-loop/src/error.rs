//! The errors of the event loop, as types (asyncio raises `RuntimeError` for all of these).

use std::fmt;

/// Why [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete) or
/// [`EventLoop::run_forever`](crate::EventLoop::run_forever) could not run to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// This loop is already running (a `run_*` call from inside one of its own callbacks).
    AlreadyRunning,
    /// Another event loop is running on this thread; loops do not nest.
    AnotherLoopRunning,
    /// The loop was closed; create a new one.
    Closed,
    /// `stop()` was called before the future given to `run_until_complete` finished; the future
    /// was dropped.
    StoppedBeforeComplete,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunError::AlreadyRunning => {
                "this event loop is already running; await the future instead of nesting run calls"
            }
            RunError::AnotherLoopRunning => {
                "cannot run the event loop while another loop is running on this thread"
            }
            RunError::Closed => "the event loop is closed; create a new one with EventLoop::new()",
            RunError::StoppedBeforeComplete => {
                "the event loop stopped before the future completed (stop() was called)"
            }
        })
    }
}

impl std::error::Error for RunError {}

/// [`EventLoop::close`](crate::EventLoop::close) was called while the loop was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseError;

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot close a running event loop; call stop() and close it after run returns")
    }
}

impl std::error::Error for CloseError {}

/// [`get_running_loop`](crate::get_running_loop) was called where no loop is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRunningLoop;

impl fmt::Display for NoRunningLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no running event loop on this thread; call this from inside a callback or a future run by the loop")
    }
}

impl std::error::Error for NoRunningLoop {}

/// A signal handler could not be installed or removed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignalError {
    /// The signal cannot be caught (`SIGKILL`, `SIGSTOP`) or must not be (`SIGILL`, `SIGFPE`,
    /// `SIGSEGV`), or the number is not a signal.
    Invalid(i32),
    /// The loop is closed.
    Closed,
    /// The operating system refused (creating the self-pipe or installing the handler).
    Io(std::io::Error),
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::Invalid(sig) => {
                write!(f, "signal {sig} cannot be handled by the event loop")
            }
            SignalError::Closed => f.write_str("the event loop is closed"),
            SignalError::Io(e) => write!(f, "installing the signal handler failed: {e}"),
        }
    }
}

impl std::error::Error for SignalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignalError::Io(e) => Some(e),
            _ => None,
        }
    }
}
