//! `MaybeDone`: a slot holding a future, then its output, then nothing — the building block of
//! the `join`, `try_join` and `race` combinators. Private to the crate.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::Context;

use pin_project_lite::pin_project;

pin_project! {
    /// A future until it completes, then its output until taken; `Gone` once taken or cancelled.
    ///
    /// A completed future is dropped as soon as it returns `Ready` (the slot is overwritten in
    /// place), and a cancelled one when `cancel` is called, not when the combinator is dropped.
    #[project = MaybeDoneProj]
    pub(crate) enum MaybeDone<F: Future> {
        /// Still running.
        Future { #[pin] fut: F },
        /// Finished; the output waits to be taken.
        Done { out: Option<F::Output> },
        /// Cancelled, or combinator finished.
        Gone,
    }
}

impl<F: Future> MaybeDone<F> {
    /// A slot holding a running future.
    pub(crate) fn new(fut: F) -> MaybeDone<F> {
        MaybeDone::Future { fut }
    }

    /// Polls the future if it is still running; returns `true` once it is no longer running.
    pub(crate) fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let out = match self.as_mut().project() {
            MaybeDoneProj::Future { fut } => match fut.poll(cx) {
                std::task::Poll::Ready(out) => out,
                std::task::Poll::Pending => return false,
            },
            MaybeDoneProj::Done { .. } | MaybeDoneProj::Gone => return true,
        };
        // Drops the finished future in place, as soon as it finishes.
        self.set(MaybeDone::Done { out: Some(out) });
        true
    }

    /// Takes the output, if the future finished and it was not taken yet.
    pub(crate) fn take(self: Pin<&mut Self>) -> Option<F::Output> {
        match self.project() {
            MaybeDoneProj::Done { out } => out.take(),
            _ => None,
        }
    }

    /// Drops the future (or its output) in place.
    pub(crate) fn cancel(mut self: Pin<&mut Self>) {
        self.set(MaybeDone::Gone);
    }
}

impl<F, T, E> MaybeDone<F>
where
    F: Future<Output = Result<T, E>>,
{
    /// Takes the output if it is an error; leaves an `Ok` output in place.
    pub(crate) fn take_err(self: Pin<&mut Self>) -> Option<E> {
        match self.project() {
            MaybeDoneProj::Done { out } if matches!(out, Some(Err(_))) => match out.take() {
                Some(Err(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// Takes the output if it is `Ok`.
    pub(crate) fn take_ok(self: Pin<&mut Self>) -> Option<T> {
        self.take().and_then(Result::ok)
    }
}

impl<F: Future> fmt::Debug for MaybeDone<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MaybeDone::Future { .. } => "Running",
            MaybeDone::Done { .. } => "Done",
            MaybeDone::Gone => "Gone",
        })
    }
}

/// A boxed, pinned slice of slots: the storage of the vector combinators.
pub(crate) type Slots<F> = Pin<Box<[MaybeDone<F>]>>;

/// Pins each future of `futures` in one boxed slice (one allocation).
pub(crate) fn slots<F: Future>(futures: impl IntoIterator<Item = F>) -> Slots<F> {
    Box::into_pin(futures.into_iter().map(MaybeDone::new).collect())
}

/// Iterates over the pinned elements of a pinned slice.
pub(crate) fn iter_pin_mut<T>(slice: Pin<&mut [T]>) -> impl Iterator<Item = Pin<&mut T>> {
    // SAFETY: the elements are only handed out pinned (below), and nothing moves them out of
    // the slice; the slice itself stays where it is because it is pinned.
    let slice = unsafe { slice.get_unchecked_mut() };
    slice.iter_mut().map(|elem| {
        // SAFETY: `elem` lives inside a pinned slice, so it never moves until it is dropped in
        // place (pinning of slice elements is structural).
        unsafe { Pin::new_unchecked(elem) }
    })
}
