//! `race`, `select` and `race_all`: wait for the first of several futures and drop the rest
//! (asyncio's `wait(..., return_when=FIRST_COMPLETED)` followed by cancelling the others).
//!
//! # Cancel safety
//!
//! The losers are dropped at their last suspension point, as soon as the winner finishes (before
//! the output is returned), exactly as a cancelled asyncio task stops at its last `await`. Work a
//! loser had done is lost with it unless that future is itself cancel-safe: racing
//! `queue.get()` against a timeout loses no item only if `get` is cancel-safe. Polling is biased:
//! futures are polled in argument order, so if two are ready in the same poll the earlier wins.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::either::Either;
use crate::error::EmptyRace;
use crate::maybe_done::{MaybeDone, Slots, iter_pin_mut, slots};

/// Waits for the first of two futures with the same output; the loser is dropped.
///
/// # Cancel safety
///
/// The loser is dropped at its last suspension point as soon as the winner finishes. `a` is
/// polled before `b`, so if both are ready in the same poll, `a` wins. Dropping the [`Race`]
/// drops both.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, pending, race, yield_now};
///
/// let slow = async { yield_now().await; "slow" };
/// assert_eq!(block_on(race(slow, async { "fast" })), "fast");
/// assert_eq!(block_on(race(pending(), async { 1 })), 1);
/// ```
pub fn race<A, B>(a: A, b: B) -> Race<A, B>
where
    A: Future,
    B: Future<Output = A::Output>,
{
    Race {
        a: MaybeDone::new(a),
        b: MaybeDone::new(b),
    }
}

pin_project! {
    /// The future returned by [`race`].
    ///
    /// # Examples
    ///
    /// ```
    /// let r: tower_coro::Race<_, _> = tower_coro::race(async { 1 }, async { 2 });
    /// assert_eq!(tower_coro::block_on(r), 1);
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Race<A: Future, B: Future> {
        #[pin]
        a: MaybeDone<A>,
        #[pin]
        b: MaybeDone<B>,
    }
}

impl<A, B> Future for Race<A, B>
where
    A: Future,
    B: Future<Output = A::Output>,
{
    type Output = A::Output;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<A::Output> {
        let this = self.project();
        match select_poll(this.a, this.b, cx) {
            Poll::Ready(either) => Poll::Ready(match either {
                Either::Left(v) | Either::Right(v) => v,
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<A: Future, B: Future> fmt::Debug for Race<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Race")
            .field("a", &self.a)
            .field("b", &self.b)
            .finish()
    }
}

/// Waits for the first of two futures, saying which one finished; the loser is dropped.
///
/// # Cancel safety
///
/// As [`race`]: the loser is dropped at its last suspension point as soon as the winner
/// finishes; `a` is polled first.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, pending, select, Either};
///
/// let r = block_on(select(pending::<u8>(), async { "done" }));
/// assert_eq!(r, Either::Right("done"));
/// ```
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select {
        a: MaybeDone::new(a),
        b: MaybeDone::new(b),
    }
}

pin_project! {
    /// The future returned by [`select`].
    ///
    /// # Examples
    ///
    /// ```
    /// let s: tower_coro::Select<_, _> = tower_coro::select(async { 1 }, async { "b" });
    /// assert_eq!(tower_coro::block_on(s), tower_coro::Either::Left(1));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Select<A: Future, B: Future> {
        #[pin]
        a: MaybeDone<A>,
        #[pin]
        b: MaybeDone<B>,
    }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        select_poll(this.a, this.b, cx)
    }
}

impl<A: Future, B: Future> fmt::Debug for Select<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("a", &self.a)
            .field("b", &self.b)
            .finish()
    }
}

/// Polls `a` then `b`; on the first to finish, drops both slots and returns its output.
fn select_poll<A: Future, B: Future>(
    mut a: Pin<&mut MaybeDone<A>>,
    mut b: Pin<&mut MaybeDone<B>>,
    cx: &mut Context<'_>,
) -> Poll<Either<A::Output, B::Output>> {
    let out = if a.as_mut().poll_done(cx) {
        a.as_mut().take().map(Either::Left)
    } else if b.as_mut().poll_done(cx) {
        b.as_mut().take().map(Either::Right)
    } else {
        return Poll::Pending;
    };
    // The race is over: drop the loser (and the winner's empty slot) now.
    a.cancel();
    b.cancel();
    Poll::Ready(out.expect("race or select polled after completion"))
}

/// Waits for the first of many futures; all the others are dropped.
///
/// Resolves to `Err(EmptyRace)` at once if `futures` is empty (nothing could ever win).
///
/// # Cancel safety
///
/// As [`race`]: the losers are dropped at their last suspension point as soon as the winner
/// finishes; futures are polled in input order, so the earliest ready one wins.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, race_all, yield_now};
///
/// let futs = (0..3).map(|i| async move {
///     for _ in 0..(3 - i) {
///         yield_now().await;
///     }
///     i
/// });
/// assert_eq!(block_on(race_all(futs)), Ok(2)); // the one with the fewest yields
/// ```
pub fn race_all<I>(futures: I) -> RaceAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    RaceAll {
        slots: slots(futures),
    }
}

/// The future returned by [`race_all`].
///
/// # Examples
///
/// ```
/// let r: tower_coro::RaceAll<_> = tower_coro::race_all((1..=2).map(|i| async move { i }));
/// assert_eq!(tower_coro::block_on(r), Ok(1));
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RaceAll<F: Future> {
    /// One slot per future, in input order.
    slots: Slots<F>,
}

impl<F: Future> Future for RaceAll<F> {
    type Output = Result<F::Output, EmptyRace>;

    /// Polled again after it returned `Ready(Ok(_))`, it stays `Pending`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.slots.is_empty() {
            return Poll::Ready(Err(EmptyRace));
        }
        let mut winner = None;
        for mut slot in iter_pin_mut(self.slots.as_mut()) {
            if slot.as_mut().poll_done(cx) {
                winner = slot.take();
                break;
            }
        }
        let Some(out) = winner else {
            return Poll::Pending;
        };
        // The race is over: drop every loser now.
        iter_pin_mut(self.slots.as_mut()).for_each(MaybeDone::cancel);
        Poll::Ready(Ok(out))
    }
}

impl<F: Future> fmt::Debug for RaceAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaceAll")
            .field("slots", &&*self.slots)
            .finish()
    }
}
