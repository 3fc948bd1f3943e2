//! `join` and `try_join`: run several futures concurrently on one task and wait for all of them
//! (asyncio's `gather`, without tasks). Fixed arity (2, 3, 4) and vector forms.
//!
//! # Cancel safety
//!
//! Dropping a join drops every future still running, at its last suspension point. `try_join`
//! drops the others as soon as one fails, before returning the error.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::maybe_done::{MaybeDone, Slots, iter_pin_mut, slots};

/// Defines a fixed-arity join: its function, its named future and their docs.
macro_rules! define_join {
    (
        $(#[$fn_doc:meta])* fn $join:ident;
        $(#[$ty_doc:meta])* struct $Join:ident;
        $(#[$try_fn_doc:meta])* fn $try_join:ident;
        $(#[$try_ty_doc:meta])* struct $TryJoin:ident;
        $($F:ident $T:ident $f:ident),+
    ) => {
        $(#[$fn_doc])*
        pub fn $join<$($F: Future),+>($($f: $F),+) -> $Join<$($F),+> {
            $Join { $($f: MaybeDone::new($f)),+ }
        }

        pin_project! {
            $(#[$ty_doc])*
            #[must_use = "futures do nothing unless you `.await` or poll them"]
            pub struct $Join<$($F: Future),+> {
                $(#[pin] $f: MaybeDone<$F>,)+
            }
        }

        impl<$($F: Future),+> Future for $Join<$($F),+> {
            type Output = ($($F::Output),+);

            /// # Panics
            ///
            /// If polled again after it returned `Ready`.
            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let mut this = self.project();
                let mut all_done = true;
                // Poll every future still running, in argument order.
                $(all_done &= this.$f.as_mut().poll_done(cx);)+
                if !all_done {
                    return Poll::Pending;
                }
                Poll::Ready(($(
                    this.$f.take().expect(concat!(stringify!($Join), " polled after completion"))
                ),+))
            }
        }

        impl<$($F: Future),+> fmt::Debug for $Join<$($F),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Join))$(.field(stringify!($f), &self.$f))+.finish()
            }
        }

        $(#[$try_fn_doc])*
        pub fn $try_join<$($F, $T,)+ E>($($f: $F),+) -> $TryJoin<$($F),+>
        where
            $($F: Future<Output = Result<$T, E>>,)+
        {
            $TryJoin { $($f: MaybeDone::new($f)),+ }
        }

        pin_project! {
            $(#[$try_ty_doc])*
            #[must_use = "futures do nothing unless you `.await` or poll them"]
            pub struct $TryJoin<$($F: Future),+> {
                $(#[pin] $f: MaybeDone<$F>,)+
            }
        }

        impl<$($F, $T,)+ E> Future for $TryJoin<$($F),+>
        where
            $($F: Future<Output = Result<$T, E>>,)+
        {
            type Output = Result<($($T),+), E>;

            /// # Panics
            ///
            /// If polled again after it returned `Ready`.
            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let mut this = self.project();
                let mut all_done = true;
                let mut failed = None;
                $(
                    if failed.is_none() {
                        if this.$f.as_mut().poll_done(cx) {
                            failed = this.$f.as_mut().take_err();
                        } else {
                            all_done = false;
                        }
                    }
                )+
                if let Some(err) = failed {
                    // First error wins: drop every other future now.
                    $(this.$f.as_mut().cancel();)+
                    return Poll::Ready(Err(err));
                }
                if !all_done {
                    return Poll::Pending;
                }
                Poll::Ready(Ok(($(
                    this.$f.take_ok().expect(concat!(stringify!($TryJoin), " polled after completion"))
                ),+)))
            }
        }

        impl<$($F: Future),+> fmt::Debug for $TryJoin<$($F),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($TryJoin))$(.field(stringify!($f), &self.$f))+.finish()
            }
        }
    };
}

define_join! {
    /// Runs two futures concurrently and returns both outputs, in argument order.
    ///
    /// Each poll polls every future still running, first to last; a finished future is dropped
    /// as soon as it finishes. asyncio: `await asyncio.gather(a, b)` (on one task).
    ///
    /// # Cancel safety
    ///
    /// Dropping the [`Join`] drops the futures still running at their last suspension point.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_coro::{block_on, join};
    ///
    /// assert_eq!(block_on(join(async { 1 }, async { "two" })), (1, "two"));
    /// ```
    fn join;
    /// The future returned by [`join`].
    ///
    /// # Examples
    ///
    /// ```
    /// let j: tower_coro::Join<_, _> = tower_coro::join(async { 1 }, async { 2 });
    /// println!("{j:?}"); // Join { a: Running, b: Running }
    /// assert_eq!(tower_coro::block_on(j), (1, 2));
    /// ```
    struct Join;
    /// Runs two fallible futures concurrently; returns both values, or the first error.
    ///
    /// "First" means first observed: futures are polled in argument order.
    ///
    /// # Cancel safety
    ///
    /// When one fails, the others are dropped (at their last suspension point) before the
    /// error is returned. Dropping the [`TryJoin`] drops the futures still running.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_coro::{block_on, pending, try_join};
    ///
    /// let ok = try_join(async { Ok::<_, &str>(1) }, async { Ok(2) });
    /// assert_eq!(block_on(ok), Ok((1, 2)));
    ///
    /// // The error ends the join even though the other future never finishes.
    /// let err = try_join(async { Err::<u8, _>("boom") }, async { pending::<Result<u8, &str>>().await });
    /// assert_eq!(block_on(err), Err("boom"));
    /// ```
    fn try_join;
    /// The future returned by [`try_join`].
    ///
    /// # Examples
    ///
    /// ```
    /// let j: tower_coro::TryJoin<_, _> = tower_coro::try_join(async { Ok::<u8, ()>(1) }, async { Ok(2) });
    /// assert_eq!(tower_coro::block_on(j), Ok((1, 2)));
    /// ```
    struct TryJoin;
    A T1 a, B T2 b
}

define_join! {
    /// Runs three futures concurrently and returns the outputs in argument order. See [`join`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_coro::{block_on, join3};
    ///
    /// assert_eq!(block_on(join3(async { 1 }, async { 2 }, async { 3 })), (1, 2, 3));
    /// ```
    fn join3;
    /// The future returned by [`join3`].
    ///
    /// # Examples
    ///
    /// ```
    /// let j: tower_coro::Join3<_, _, _> = tower_coro::join3(async { 1 }, async { 2 }, async { 3 });
    /// assert_eq!(tower_coro::block_on(j), (1, 2, 3));
    /// ```
    struct Join3;
    /// Runs three fallible futures concurrently; all values or the first error. See [`try_join`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_coro::{block_on, try_join3};
    ///
    /// let j = try_join3(async { Ok::<_, ()>(1) }, async { Ok(2) }, async { Ok(3) });
    /// assert_eq!(block_on(j), Ok((1, 2, 3)));
    /// ```
    fn try_join3;
    /// The future returned by [`try_join3`].
    ///
    /// # Examples
    ///
    /// ```
    /// let j: tower_coro::TryJoin3<_, _, _> =
    ///     tower_coro::try_join3(async { Ok::<u8, ()>(1) }, async { Ok(2) }, async { Err::<u8, ()>(()) });
    /// assert_eq!(tower_coro::block_on(j), Err(()));
    /// ```
    struct TryJoin3;
    A T1 a, B T2 b, C T3 c
}

define_join! {
    /// Runs four futures concurrently and returns the outputs in argument order. See [`join`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_coro::{block_on, join4};
    ///
    /// let j = join4(async { 1 }, async { 2 }, async { 3 }, async { 4 });
    /// assert_eq!(block_on(j), (1, 2, 3, 4));
    /// ```
    fn join4;
    /// The future returned by [`join4`].
    ///
    /// # Examples
    ///
    /// ```
    /// let j: tower_coro::Join4<_, _, _, _> =
    ///     tower_coro::join4(async { 1 }, async { 2 }, async { 3 }, async { 4 });
    /// assert_eq!(tower_coro::block_on(j), (1, 2, 3, 4));
    /// ```
    struct Join4;
    /// Runs four fallible futures concurrently; all values or the first error. See [`try_join`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_coro::{block_on, try_join4};
    ///
    /// let j = try_join4(async { Ok::<_, ()>(1) }, async { Ok(2) }, async { Ok(3) }, async { Ok(4) });
    /// assert_eq!(block_on(j), Ok((1, 2, 3, 4)));
    /// ```
    fn try_join4;
    /// The future returned by [`try_join4`].
    ///
    /// # Examples
    ///
    /// ```
    /// let j: tower_coro::TryJoin4<_, _, _, _> = tower_coro::try_join4(
    ///     async { Ok::<u8, ()>(1) }, async { Ok(2) }, async { Ok(3) }, async { Ok(4) },
    /// );
    /// assert_eq!(tower_coro::block_on(j), Ok((1, 2, 3, 4)));
    /// ```
    struct TryJoin4;
    A T1 a, B T2 b, C T3 c, D T4 d
}

/// Runs every future of `futures` concurrently and returns their outputs in the same order.
///
/// Each poll polls every future still running (so a poll costs O(n)); the futures are pinned
/// in one boxed slice (one allocation). An empty input is ready at once with an empty vector.
/// asyncio: `await asyncio.gather(*coros)` (on one task).
///
/// # Cancel safety
///
/// Dropping the [`JoinAll`] drops the futures still running at their last suspension point.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, join_all};
///
/// let futs = (1..=3).map(|i| async move { i * 10 });
/// assert_eq!(block_on(join_all(futs)), [10, 20, 30]);
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    JoinAll {
        slots: slots(futures),
    }
}

/// The future returned by [`join_all`].
///
/// # Examples
///
/// ```
/// let j: tower_coro::JoinAll<_> = tower_coro::join_all((1..=2).map(|i| async move { i }));
/// assert_eq!(tower_coro::block_on(j), [1, 2]);
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct JoinAll<F: Future> {
    /// One slot per future, in input order.
    slots: Slots<F>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        let mut all_done = true;
        for slot in iter_pin_mut(self.slots.as_mut()) {
            all_done &= slot.poll_done(cx);
        }
        if !all_done {
            return Poll::Pending;
        }
        Poll::Ready(
            iter_pin_mut(self.slots.as_mut())
                .filter_map(MaybeDone::take)
                .collect(),
        )
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("slots", &&*self.slots)
            .finish()
    }
}

/// Runs every fallible future of `futures` concurrently; returns all values in order, or the
/// first error observed (futures are polled in input order).
///
/// # Cancel safety
///
/// When one fails, all the others are dropped before the error is returned. Dropping the
/// [`TryJoinAll`] drops the futures still running at their last suspension point.
///
/// # Examples
///
/// ```
/// use tower_coro::{block_on, try_join_all};
///
/// let all_ok = (1..=3).map(|i| async move { Ok::<_, String>(i) });
/// assert_eq!(block_on(try_join_all(all_ok)), Ok(vec![1, 2, 3]));
///
/// let one_bad = (1..=3).map(|i| async move { if i == 2 { Err(format!("no {i}")) } else { Ok(i) } });
/// assert_eq!(block_on(try_join_all(one_bad)), Err("no 2".to_string()));
/// ```
pub fn try_join_all<I, T, E>(futures: I) -> TryJoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    TryJoinAll {
        slots: slots(futures),
    }
}

/// The future returned by [`try_join_all`].
///
/// # Examples
///
/// ```
/// let j: tower_coro::TryJoinAll<_> = tower_coro::try_join_all(vec![async { Ok::<u8, ()>(1) }]);
/// assert_eq!(tower_coro::block_on(j), Ok(vec![1]));
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryJoinAll<F: Future> {
    /// One slot per future, in input order.
    slots: Slots<F>,
}

impl<F, T, E> Future for TryJoinAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut all_done = true;
        let mut failed = None;
        for mut slot in iter_pin_mut(self.slots.as_mut()) {
            if slot.as_mut().poll_done(cx) {
                if let Some(err) = slot.take_err() {
                    failed = Some(err);
                    break;
                }
            } else {
                all_done = false;
            }
        }
        if let Some(err) = failed {
            // First error wins: drop every other future now.
            iter_pin_mut(self.slots.as_mut()).for_each(MaybeDone::cancel);
            return Poll::Ready(Err(err));
        }
        if !all_done {
            return Poll::Pending;
        }
        Poll::Ready(Ok(iter_pin_mut(self.slots.as_mut())
            .filter_map(MaybeDone::take_ok)
            .collect()))
    }
}

impl<F: Future> fmt::Debug for TryJoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryJoinAll")
            .field("slots", &&*self.slots)
            .finish()
    }
}
