//! The crate's error types.

use std::fmt;
use std::sync::Arc;

/// [`race_all`](crate::race_all) was given no futures, so nothing can win.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, error::EmptyRace, race_all, ready};
///
/// let none: Vec<std::future::Ready<u8>> = Vec::new();
/// assert_eq!(block_on(race_all(none)), Err(EmptyRace));
/// assert_eq!(block_on(race_all(vec![ready(1)])), Ok(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmptyRace;

impl fmt::Display for EmptyRace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("race_all was given no futures; pass at least one")
    }
}

impl std::error::Error for EmptyRace {}

/// The operation was cancelled (asyncio's `CancelledError`), with the message given to
/// `cancel(msg)`, if any.
///
/// ```
/// use tower_coro::error::Cancelled;
///
/// let c = Cancelled::new(Some("shutting down"));
/// assert_eq!(c.message(), Some("shutting down"));
/// assert_eq!(c.to_string(), "cancelled: shutting down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cancelled {
    /// The message given to `cancel` (a thin pointer: a task's output slot holds a
    /// `Cancelled`, so its size is part of every task's allocation).
    msg: Option<Arc<String>>,
}

impl Cancelled {
    /// A cancellation carrying `msg`.
    pub fn new(msg: Option<&str>) -> Self {
        Cancelled {
            msg: msg.map(|m| Arc::new(m.to_owned())),
        }
    }

    /// The message given to `cancel(msg)`, if any.
    pub fn message(&self) -> Option<&str> {
        self.msg.as_deref().map(String::as_str)
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.msg {
            Some(m) => write!(f, "cancelled: {m}"),
            None => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for Cancelled {}
