//! The errors of tower-future, as types (asyncio's `CancelledError`, `InvalidStateError`, and
//! the exception a future was completed with).

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// The error a future or task was completed with by `set_exception` (asyncio's exception
/// object): shared, so every awaiter of a cloned handle sees the same one.
pub type Exception = Arc<dyn Error + Send + Sync + 'static>;

pub use tower_coro::error::Cancelled;

/// An operation that the future's state does not allow (asyncio's `InvalidStateError`): setting
/// a result twice, asking for the result before it is set.
///
/// ```
/// use tower_future::error::InvalidStateError;
///
/// assert_eq!(InvalidStateError::AlreadyDone.to_string(), "invalid state: the future is already done");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidStateError {
    /// `set_result`/`set_exception` on a future that is already done (or cancelled).
    AlreadyDone,
    /// `result`/`exception` on a future that is not done yet.
    NotDone,
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidStateError::AlreadyDone => "invalid state: the future is already done",
            InvalidStateError::NotDone => {
                "invalid state: the result is not set yet; await the future or check done() first"
            }
        })
    }
}

impl Error for InvalidStateError {}

/// Why awaiting a [`LoopFuture`](crate::LoopFuture) (or asking for its result) gave no value.
///
/// ```
/// use tower_future::error::{Cancelled, FutureError};
///
/// let e = FutureError::Cancelled(Cancelled::new(None));
/// assert!(e.is_cancelled());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FutureError {
    /// The future was cancelled.
    Cancelled(Cancelled),
    /// The future was completed with `set_exception`.
    Exception(Exception),
    /// The future is not done yet (only from `result()`/`exception()`, never from awaiting).
    InvalidState(InvalidStateError),
}

impl FutureError {
    /// Whether this is [`FutureError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, FutureError::Cancelled(_))
    }
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Cancelled(c) => c.fmt(f),
            FutureError::Exception(e) => write!(f, "the future failed: {e}"),
            FutureError::InvalidState(e) => e.fmt(f),
        }
    }
}

impl Error for FutureError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FutureError::Cancelled(c) => Some(c),
            FutureError::Exception(e) => Some(&**e),
            FutureError::InvalidState(e) => Some(e),
        }
    }
}

impl From<Cancelled> for FutureError {
    fn from(c: Cancelled) -> Self {
        FutureError::Cancelled(c)
    }
}

impl From<InvalidStateError> for FutureError {
    fn from(e: InvalidStateError) -> Self {
        FutureError::InvalidState(e)
    }
}

pub use tower_loop::error::NoRunningLoop;
