//! The streams' errors (asyncio's `IncompleteReadError`, `LimitOverrunError`, the "already
//! waiting" `RuntimeError`), each carried inside an [`io::Error`] as tier 8's errors are, and
//! how a stored exception is raised again and again (an `io::Error` is not `Clone`).

use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;

/// The stream ended before a read was satisfied (asyncio's `IncompleteReadError`). Carried
/// inside an [`io::Error`] of kind [`UnexpectedEof`](io::ErrorKind::UnexpectedEof): get it
/// with [`IncompleteReadError::from_io`] (or take it with [`IncompleteReadError::take`]).
///
/// ```
/// use tower_stream::{IncompleteReadError, StreamReader};
///
/// let reader = StreamReader::new();
/// reader.feed_data(b"abc");
/// reader.feed_eof();
/// let err = tower_coro::block_on(reader.readexactly(5)).unwrap_err();
/// let incomplete = IncompleteReadError::from_io(&err).unwrap();
/// assert_eq!(incomplete.partial, b"abc");
/// assert_eq!(incomplete.expected, Some(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before the end of the stream (taken out of the reader's buffer).
    pub partial: Vec<u8>,
    /// How many bytes were expected (`None` for `readuntil`, which waited for a separator).
    pub expected: Option<usize>,
}

impl IncompleteReadError {
    /// The `IncompleteReadError` inside `err`, if that is what it carries.
    pub fn from_io(err: &io::Error) -> Option<&IncompleteReadError> {
        err.get_ref()?.downcast_ref()
    }

    /// Takes the `IncompleteReadError` out of `err` (`Err(err)` back if it carries another).
    pub fn take(err: io::Error) -> Result<IncompleteReadError, io::Error> {
        if Self::from_io(&err).is_none() {
            return Err(err);
        }
        let inner = err.into_inner().expect("checked above");
        Ok(*inner.downcast().expect("checked above"))
    }

    /// As an `io::Error` of kind `UnexpectedEof`.
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, self)
    }
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(n) => write!(
                f,
                "{} bytes read on a total of {n} expected bytes",
                self.partial.len()
            ),
            None => write!(
                f,
                "{} bytes read on a total of undefined expected bytes (the separator was not found before the end of the stream)",
                self.partial.len()
            ),
        }
    }
}

impl Error for IncompleteReadError {}

/// A separator was not found within the reader's limit (asyncio's `LimitOverrunError`). The
/// data stays in the reader's buffer; [`consumed`](Self::consumed) says how many bytes may be
/// taken out before the search could go on. Carried inside an [`io::Error`] of kind
/// [`InvalidData`](io::ErrorKind::InvalidData): get it with [`LimitOverrunError::from_io`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// What happened: the separator was found past the limit, or not found in `limit` bytes.
    pub message: &'static str,
    /// Bytes to consume (asyncio's `consumed`): where the separator starts, or how far the
    /// buffer was searched.
    pub consumed: usize,
}

impl LimitOverrunError {
    /// The `LimitOverrunError` inside `err`, if that is what it carries.
    pub fn from_io(err: &io::Error) -> Option<&LimitOverrunError> {
        err.get_ref()?.downcast_ref()
    }

    /// As an `io::Error` of kind `InvalidData`.
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (consumed {}); read the data with read() or readexactly(), or raise the limit",
            self.message, self.consumed
        )
    }
}

impl Error for LimitOverrunError {}

/// Two reads waited for data on one [`StreamReader`](crate::StreamReader) at once (asyncio's
/// `RuntimeError: ... called while another coroutine is already waiting for incoming data`): it
/// could not be known which of them gets the next bytes. Carried inside an [`io::Error`] of
/// kind [`ResourceBusy`](io::ErrorKind::ResourceBusy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyWaiting {
    /// The read that was refused (`"read"`, `"readuntil"`, ...).
    pub func: &'static str,
}

impl AlreadyWaiting {
    /// As an `io::Error` of kind `ResourceBusy`.
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::ResourceBusy, self)
    }
}

impl fmt::Display for AlreadyWaiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}() called while another read is already waiting for incoming data; read from one task at a time",
            self.func
        )
    }
}

impl Error for AlreadyWaiting {}

/// A stored exception (asyncio raises the same exception object each time it is asked).
pub(crate) type Stored = Arc<io::Error>;

/// A fresh `io::Error` standing for the stored one: the same OS error when it is one (kind and
/// `raw_os_error` kept), else the same kind with the original inside (`get_ref` downcasts to
/// `Arc<io::Error>`; `Display` is the original's).
pub(crate) fn raise(stored: &Stored) -> io::Error {
    match stored.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(stored.kind(), Arc::clone(stored)),
    }
}

/// asyncio's `ConnectionResetError('Connection lost')` from `drain`.
pub(crate) fn connection_lost() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "Connection lost")
}

/// A transport's write error as an `io::Error` (the `WriteError` inside): `BrokenPipe` after
/// `write_eof`, `Unsupported` on a transport that cannot write.
pub(crate) fn write_error(e: tower_transport::WriteError) -> io::Error {
    let kind = match e {
        tower_transport::WriteError::NotWritable => io::ErrorKind::Unsupported,
        _ => io::ErrorKind::BrokenPipe,
    };
    io::Error::new(kind, e)
}
