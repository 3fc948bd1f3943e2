//! `catch_unwind`: turn a panic inside a future into an error value, as asyncio turns an
//! exception inside a coroutine into the task's exception.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// What a panic carries: the value given to `panic!` (usually a `&'static str` or a `String`).
pub type PanicPayload = Box<dyn Any + Send + 'static>;

/// Wraps `future` so that a panic while polling it becomes `Err(payload)`.
///
/// The future must be [`UnwindSafe`]; wrap it in [`AssertUnwindSafe`] if you know that state it
/// shares is left consistent by a panic. Once it has panicked, the future is not polled again by
/// the caller that sees the `Err` (it is dropped with the `CatchUnwind`).
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, catch_unwind, panic_message};
///
/// let ok = block_on(catch_unwind(async { 7 }));
/// assert_eq!(ok.ok(), Some(7));
///
/// let err = block_on(catch_unwind(async {
///     if true { panic!("boom") }
/// }))
/// .unwrap_err();
/// assert_eq!(panic_message(&err), "boom");
/// ```
pub fn catch_unwind<F: Future + UnwindSafe>(future: F) -> CatchUnwind<F> {
    CatchUnwind { future }
}

pin_project! {
    /// The future returned by [`catch_unwind`].
    ///
    /// # Examples
    ///
    /// ```
    /// let f: tower_coro::CatchUnwind<_> = tower_coro::catch_unwind(async { 1 });
    /// assert_eq!(tower_coro::block_on(f).ok(), Some(1));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future + UnwindSafe> Future for CatchUnwind<F> {
    type Output = Result<F::Output, PanicPayload>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        // `F: UnwindSafe` is required by the constructor; the context is only borrowed for the
        // call and a waker is designed to be usable after a panic elsewhere.
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

impl<F> fmt::Debug for CatchUnwind<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchUnwind").finish_non_exhaustive()
    }
}

/// The message of a panic payload: the `&str` or `String` given to `panic!`, or
/// `"Box<dyn Any>"` for any other payload (as the standard panic hook prints it).
///
/// # Examples
///
/// ```
/// use tower_coro::panic_message;
///
/// let payload = std::panic::catch_unwind(|| panic!("code {}", 42)).unwrap_err();
/// assert_eq!(panic_message(&payload), "code 42");
/// let odd = std::panic::catch_unwind(|| std::panic::panic_any(5_u8)).unwrap_err();
/// assert_eq!(panic_message(&odd), "Box<dyn Any>");
/// ```
pub fn panic_message(payload: &PanicPayload) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}
