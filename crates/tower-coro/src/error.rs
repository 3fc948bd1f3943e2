//! The crate's error types.

use std::fmt;

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
