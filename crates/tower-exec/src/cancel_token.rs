//! [`CancelToken`]: how a closure given to [`to_thread_cancellable`](crate::to_thread_cancellable)
//! learns that nobody awaits its result any more, so long work can stop early.

use std::fmt;
use std::sync::Arc;

use crate::error::Cancelled;
use crate::handoff::AbandonFlag;

/// Flips to cancelled when the future awaiting the closure's result is dropped (asyncio's task
/// cancellation, seen from the worker thread). Cheap to clone; `Send + Sync`.
///
/// The flag is only ever set, never cleared; reading it is one atomic load.
///
/// # Examples
///
/// ```
/// use tower_exec::to_thread_cancellable;
///
/// let sum = tower_coro::block_on(to_thread_cancellable(|token| {
///     let mut sum = 0u64;
///     for i in 0..1_000u64 {
///         if token.is_cancelled() {
///             break; // nobody is waiting: stop early
///         }
///         sum += i;
///     }
///     sum
/// }))
/// .unwrap();
/// assert_eq!(sum, 499_500);
/// ```
#[derive(Clone)]
pub struct CancelToken {
    /// The hand-off cell's flag; `None` for a token that is never cancelled.
    flag: Option<Arc<dyn AbandonFlag>>,
}

impl CancelToken {
    /// A token reading `flag`.
    pub(crate) fn new(flag: Arc<dyn AbandonFlag>) -> Self {
        CancelToken { flag: Some(flag) }
    }

    /// A token that is never cancelled (for calling a cancellable closure directly, e.g. in a
    /// test).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!tower_exec::CancelToken::never().is_cancelled());
    /// ```
    pub fn never() -> Self {
        CancelToken { flag: None }
    }

    /// Whether the awaiting future has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use tower_exec::to_thread_cancellable;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let fut = to_thread_cancellable(move |token| {
    ///     while !token.is_cancelled() {
    ///         std::thread::yield_now();
    ///     }
    ///     tx.send("stopped early").unwrap();
    /// });
    /// drop(fut); // cancel
    /// assert_eq!(rx.recv().unwrap(), "stopped early");
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.flag.as_ref().is_some_and(|f| f.is_abandoned())
    }

    /// `Err(Cancelled)` once cancelled, so a closure can stop with `?`.
    ///
    /// # Errors
    ///
    /// [`Cancelled`] when the awaiting future has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_exec::CancelToken;
    ///
    /// assert_eq!(CancelToken::never().check(), Ok(()));
    /// ```
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
