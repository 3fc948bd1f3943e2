//! The leaf futures, `poll_fn`, `pending` and `ready`: the standard library's, re-exported
//! so the tower's users find them where asyncio users look for `await` plumbing.

/// Makes a future from a closure called on every poll (`std::future::poll_fn`).
///
/// # Examples
///
/// ```
/// use std::task::Poll;
/// use tower_coro::{block_on, poll_fn};
///
/// let mut polls = 0;
/// let n = block_on(poll_fn(|cx| {
///     polls += 1;
///     if polls < 3 {
///         cx.waker().wake_by_ref();
///         Poll::Pending
///     } else {
///         Poll::Ready(polls)
///     }
/// }));
/// assert_eq!(n, 3);
/// ```
#[doc(inline)]
pub use std::future::poll_fn;

/// The future returned by [`poll_fn`].
///
/// # Examples
///
/// ```
/// let f: tower_coro::PollFn<_> = tower_coro::poll_fn(|_| std::task::Poll::Ready(1));
/// assert_eq!(tower_coro::block_on(f), 1);
/// ```
#[doc(inline)]
pub use std::future::PollFn;

/// A future that never completes (`std::future::pending`), as an asyncio future nobody resolves.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, pending, race, ready};
///
/// assert_eq!(block_on(race(pending::<u8>(), ready(7))), 7);
/// ```
#[doc(inline)]
pub use std::future::pending;

/// The future returned by [`pending`].
///
/// # Examples
///
/// ```
/// let _never: tower_coro::Pending<()> = tower_coro::pending();
/// ```
#[doc(inline)]
pub use std::future::Pending;

/// A future that is immediately ready with a value (`std::future::ready`).
///
/// # Examples
///
/// ```
/// assert_eq!(tower_coro::block_on(tower_coro::ready(5)), 5);
/// ```
#[doc(inline)]
pub use std::future::ready;

/// The future returned by [`ready`].
///
/// # Examples
///
/// ```
/// let f: tower_coro::Ready<u8> = tower_coro::ready(5);
/// assert_eq!(tower_coro::block_on(f), 5);
/// ```
#[doc(inline)]
pub use std::future::Ready;
