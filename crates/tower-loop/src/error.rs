//! The errors of the event loop, as types (asyncio raises `RuntimeError` for all of these).

use std::fmt;
use std::io;

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
    /// Waiting for I/O events failed (asyncio lets the selector's `OSError` propagate out of
    /// `run_forever`/`run_until_complete`). The loop stopped after the iteration in which it
    /// happened; it may be run again.
    Poller(PollerError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let RunError::Poller(e) = self {
            return fmt::Display::fmt(e, f);
        }
        f.write_str(match self {
            RunError::Poller(_) => unreachable!("formatted above"),
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

/// The OS poller (`epoll_wait`, `kevent`) failed while the loop waited for I/O: the error of
/// [`RunError::Poller`], kept as its kind and OS error code so that `RunError` stays `Copy`.
///
/// ```
/// use tower_loop::error::PollerError;
///
/// let e = PollerError::from(&std::io::Error::from_raw_os_error(9)); // EBADF
/// assert_eq!(e.raw_os_error(), Some(9));
/// let io: std::io::Error = e.into();
/// assert_eq!(io.raw_os_error(), Some(9));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollerError {
    /// The error's kind.
    kind: io::ErrorKind,
    /// The OS error code, if it came from the OS.
    code: Option<i32>,
}

impl PollerError {
    /// The error's kind.
    pub fn kind(&self) -> io::ErrorKind {
        self.kind
    }

    /// The OS error code (`errno`), if the error came from the OS.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.code
    }
}

impl From<&io::Error> for PollerError {
    fn from(e: &io::Error) -> Self {
        PollerError {
            kind: e.kind(),
            code: e.raw_os_error(),
        }
    }
}

impl From<PollerError> for io::Error {
    fn from(e: PollerError) -> Self {
        match e.code {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::from(e.kind),
        }
    }
}

impl fmt::Display for PollerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "waiting for I/O events failed ({}); the event loop stopped",
            io::Error::from(*self)
        )
    }
}

impl std::error::Error for PollerError {}

/// A `sock_*` method was given a socket in blocking mode while the loop is in debug mode
/// (asyncio raises `ValueError("the socket must be non-blocking")`): it would stall the loop.
/// Carried in an [`io::Error`] of kind [`InvalidInput`](io::ErrorKind::InvalidInput).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockingSocket;

impl fmt::Display for BlockingSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the socket must be non-blocking (checked by the sock_* methods in debug mode); \
             call set_nonblocking(true) on it, or create it with SOCK_NONBLOCK",
        )
    }
}

impl std::error::Error for BlockingSocket {}

/// `sock_recvfrom`/`sock_recvfrom_into` received a datagram whose sender has no IP address
/// (a socket that is not IPv4 or IPv6). The datagram was consumed. Carried in an
/// [`io::Error`] of kind [`Unsupported`](io::ErrorKind::Unsupported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsupportedAddress;

impl fmt::Display for UnsupportedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the datagram's sender has no IP address (sock_recvfrom supports IPv4 and IPv6 \
             sockets); the datagram was received and discarded",
        )
    }
}

impl std::error::Error for UnsupportedAddress {}

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
