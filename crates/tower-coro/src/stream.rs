//! The few `Stream` helpers the tower needs (asyncio's `async for`): [`next`], [`collect`],
//! [`poll_next`], and the sources [`iter`], [`once`] and [`poll_fn`].
//!
//! [`Stream`] is `futures_core::Stream`, so every stream of the ecosystem works here.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// An asynchronous sequence of values (`futures_core::Stream`): asyncio's async iterator.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, stream::{self, Stream}};
///
/// fn total(s: impl Stream<Item = u32> + Unpin) -> u32 {
///     block_on(stream::collect(s)).into_iter().sum()
/// }
/// assert_eq!(total(stream::iter([1, 2, 3])), 6);
/// ```
#[doc(inline)]
pub use futures_core::Stream;

/// Polls `stream` for its next item: `Stream::poll_next` for streams that are [`Unpin`].
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use tower_coro::stream;
///
/// let mut s = stream::iter([1]);
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(stream::poll_next(&mut s, &mut cx), Poll::Ready(Some(1)));
/// assert_eq!(stream::poll_next(&mut s, &mut cx), Poll::Ready(None));
/// ```
pub fn poll_next<S>(stream: &mut S, cx: &mut Context<'_>) -> Poll<Option<S::Item>>
where
    S: Stream + Unpin + ?Sized,
{
    Pin::new(stream).poll_next(cx)
}

/// Returns a future for the next item of `stream`: `None` once the stream is exhausted.
/// asyncio: `await anext(it, None)`.
///
/// # Cancel safety
///
/// Dropping a [`Next`] before it completes loses no item: the item stays in the stream.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, stream};
///
/// let mut s = stream::iter(["a", "b"]);
/// block_on(async {
///     assert_eq!(stream::next(&mut s).await, Some("a"));
///     assert_eq!(stream::next(&mut s).await, Some("b"));
///     assert_eq!(stream::next(&mut s).await, None);
/// });
/// ```
pub fn next<S>(stream: &mut S) -> Next<'_, S>
where
    S: Stream + Unpin + ?Sized,
{
    Next { stream }
}

/// The future returned by [`next`].
///
/// # Examples
///
/// ```
/// let mut s = tower_coro::stream::iter([1]);
/// let n: tower_coro::stream::Next<'_, _> = tower_coro::stream::next(&mut s);
/// assert_eq!(tower_coro::block_on(n), Some(1));
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Next<'a, S: ?Sized> {
    /// The stream whose next item this waits for.
    stream: &'a mut S,
}

impl<S: Stream + Unpin + ?Sized> Future for Next<'_, S> {
    type Output = Option<S::Item>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        poll_next(&mut *self.stream, cx)
    }
}

impl<S: ?Sized> fmt::Debug for Next<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}

/// Collects every item of `stream` into a `Vec`, in order.
///
/// # Cancel safety
///
/// Dropping a [`Collect`] drops the stream and the items collected so far.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, stream};
///
/// assert_eq!(block_on(stream::collect(stream::iter(1..=3))), [1, 2, 3]);
/// ```
pub fn collect<S: Stream>(stream: S) -> Collect<S> {
    Collect {
        stream,
        items: Vec::new(),
    }
}

pin_project! {
    /// The future returned by [`collect`].
    ///
    /// # Examples
    ///
    /// ```
    /// let c: tower_coro::stream::Collect<_> = tower_coro::stream::collect(tower_coro::stream::iter([1]));
    /// assert_eq!(tower_coro::block_on(c), [1]);
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Collect<S: Stream> {
        #[pin]
        stream: S,
        items: Vec<S::Item>,
    }
}

impl<S: Stream> Future for Collect<S> {
    type Output = Vec<S::Item>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<S::Item>> {
        let mut this = self.project();
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => this.items.push(item),
                Poll::Ready(None) => return Poll::Ready(std::mem::take(this.items)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: Stream> fmt::Debug for Collect<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collect")
            .field("collected", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// A stream that yields the items of an iterator, always ready.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, stream};
///
/// assert_eq!(block_on(stream::collect(stream::iter(vec!['a', 'b']))), ['a', 'b']);
/// ```
pub fn iter<I: IntoIterator>(iter: I) -> Iter<I::IntoIter> {
    Iter {
        iter: iter.into_iter(),
    }
}

/// The stream returned by [`iter`].
///
/// # Examples
///
/// ```
/// let s: tower_coro::stream::Iter<std::ops::Range<u8>> = tower_coro::stream::iter(0..2);
/// assert_eq!(tower_coro::block_on(tower_coro::stream::collect(s)), [0, 1]);
/// ```
#[derive(Debug, Clone)]
#[must_use = "streams do nothing unless polled"]
pub struct Iter<I> {
    /// The source of the items.
    iter: I,
}

impl<I: Iterator> Stream for Iter<I> {
    type Item = I::Item;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        Poll::Ready(self.iter.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

// `Iter` holds no pinned state.
impl<I> Unpin for Iter<I> {}

/// A stream that yields the output of one future, then ends.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, stream};
///
/// assert_eq!(block_on(stream::collect(stream::once(async { 5 }))), [5]);
/// ```
pub fn once<F: Future>(future: F) -> Once<F> {
    Once {
        future: Some(future),
    }
}

pin_project! {
    /// The stream returned by [`once`].
    ///
    /// # Examples
    ///
    /// ```
    /// let s: tower_coro::stream::Once<_> = tower_coro::stream::once(async { 1 });
    /// assert_eq!(tower_coro::block_on(tower_coro::stream::collect(s)), [1]);
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Once<F> {
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Stream for Once<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let mut future = self.project().future;
        let Some(fut) = future.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        match fut.poll(cx) {
            Poll::Ready(out) => {
                // Drop the finished future; the stream ends on the next poll.
                future.set(None);
                Poll::Ready(Some(out))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.future.is_some());
        (n, Some(n))
    }
}

impl<F> fmt::Debug for Once<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("done", &self.future.is_none())
            .finish()
    }
}

/// Makes a stream from a closure called on every `poll_next`.
///
/// # Examples
///
/// ```
/// use std::task::Poll;
/// use tower_coro::{block_on, stream};
///
/// let mut n = 0;
/// let s = stream::poll_fn(move |_cx| {
///     n += 1;
///     Poll::Ready(if n <= 3 { Some(n) } else { None })
/// });
/// assert_eq!(block_on(stream::collect(s)), [1, 2, 3]);
/// ```
pub fn poll_fn<T, F>(f: F) -> PollFn<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<Option<T>>,
{
    PollFn { f }
}

/// The stream returned by [`poll_fn`].
///
/// # Examples
///
/// ```
/// let s: tower_coro::stream::PollFn<_> =
///     tower_coro::stream::poll_fn(|_| std::task::Poll::Ready(None::<u8>));
/// assert!(tower_coro::block_on(tower_coro::stream::collect(s)).is_empty());
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct PollFn<F> {
    /// Called on every `poll_next`.
    f: F,
}

// The closure is never pinned: it is called through `&mut`.
impl<F> Unpin for PollFn<F> {}

impl<T, F> Stream for PollFn<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<Option<T>>,
{
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        (self.f)(cx)
    }
}

impl<F> fmt::Debug for PollFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollFn").finish_non_exhaustive()
    }
}
