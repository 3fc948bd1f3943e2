//! `yield_now`: give other futures a turn, as asyncio's `await asyncio.sleep(0)`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Returns a future that is pending exactly once, waking itself first, and then ready.
///
/// Awaiting it lets an executor run other ready work before this future continues; under
/// [`block_on`](crate::block_on) it simply polls again. asyncio: `await asyncio.sleep(0)`.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, join, yield_now};
///
/// let order = std::cell::RefCell::new(Vec::new());
/// block_on(join(
///     async { order.borrow_mut().push("a1"); yield_now().await; order.borrow_mut().push("a2") },
///     async { order.borrow_mut().push("b1") },
/// ));
/// assert_eq!(*order.borrow(), ["a1", "b1", "a2"]);
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// # Examples
///
/// ```
/// let f: tower_coro::YieldNow = tower_coro::yield_now();
/// tower_coro::block_on(f);
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    /// Whether the single `Pending` has been returned.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl fmt::Debug for YieldNow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YieldNow")
            .field("yielded", &self.yielded)
            .finish()
    }
}
