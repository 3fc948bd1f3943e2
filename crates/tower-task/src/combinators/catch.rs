//! [`catch_cancel`] and [`reraise`]: a task catches its own cancellation, runs cleanup that
//! awaits, then re-raises it, returns a value, or `uncancel()`s and goes on — asyncio's
//! `try: ... except CancelledError: ...` around an `await`.
//!
//! Both are thin users of `tower_coro::cancel`: `catch_cancel` is a catching scope around its
//! body, `reraise` raises a cancellation out of the poll it is in.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_coro::cancel::{self, Catcher};

use crate::error::Cancelled;

/// Runs `body`; if the task running it is cancelled while `body` is suspended and nothing
/// inside `body` takes the cancellation (asyncio: the `CancelledError` reaches this frame),
/// drops `body` and returns `Err(Cancelled)` with the request's message.
///
/// What comes after is ordinary code that may await: cleanup, then
/// [`reraise`] to let the cancellation go on (the usual case: the task then ends cancelled,
/// or an outer `catch_cancel` catches it), or a value, or
/// [`uncancel`](crate::TaskRef::uncancel) and carry on. The task's
/// [`cancelling`](crate::TaskRef::cancelling) count is not changed by catching: asyncio's
/// rule, so that structured code (`TaskGroup`, `timeout`) can tell a handled cancellation
/// from a new one.
///
/// If what `body` awaits takes part in cancellation (a [`Task`](crate::Task), a
/// `LoopFuture`, a group), the cancellation goes to it first: an awaited task is cancelled
/// and waited for, and only when it ends cancelled does the cancellation reach this scope.
///
/// ```
/// use std::time::Duration;
/// use tower_task::{catch_cancel, reraise, run, sleep, spawn, error::TaskError};
///
/// run(async {
///     let worker = spawn(async {
///         match catch_cancel(sleep(Duration::from_secs(3600))).await {
///             Ok(()) => "slept",
///             Err(cancelled) => {
///                 sleep(Duration::from_millis(1)).await; // cleanup that awaits
///                 reraise(cancelled).await // the task ends cancelled
///             }
///         }
///     });
///     sleep(Duration::from_millis(1)).await;
///     worker.cancel_with("shutting down");
///     match worker.await {
///         Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("shutting down")),
///         other => panic!("{other:?}"),
///     }
/// })
/// .unwrap();
/// ```
///
/// # Cancel safety
///
/// Dropping a `CatchCancel` drops its body, as any future.
pub fn catch_cancel<F: IntoFuture>(body: F) -> CatchCancel<F::IntoFuture> {
    CatchCancel {
        body: Some(body.into_future()),
        catcher: Catcher::new(),
    }
}

pin_project! {
    /// The future of [`catch_cancel`].
    ///
    /// # Panics
    ///
    /// If polled again after it completed.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CatchCancel<F> {
        #[pin]
        body: Option<F>,
        catcher: Catcher,
    }
}

impl<F> fmt::Debug for CatchCancel<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchCancel")
            .field("done", &self.body.is_none())
            .finish()
    }
}

impl<F: Future> Future for CatchCancel<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(this.body.is_some(), "`CatchCancel` polled after completion");
        let caught = match this.catcher.enter() {
            Err(c) => Some(c),
            Ok(scope) => {
                let body = this.body.as_mut().as_pin_mut();
                match body.map(|b| b.poll(cx)) {
                    Some(Poll::Ready(v)) => {
                        this.body.set(None);
                        return Poll::Ready(Ok(v));
                    }
                    _ => this.catcher.exit(scope),
                }
            }
        };
        match caught {
            Some(c) => {
                this.body.set(None);
                Poll::Ready(Err(c))
            }
            None => Poll::Pending,
        }
    }
}

/// Lets a caught cancellation go on (asyncio's bare `raise` in an `except CancelledError:`):
/// the nearest enclosing [`catch_cancel`] (or `TaskGroup`, or `timeout`) catches it, and if
/// there is none the task ends cancelled with `cancelled`'s message. The future never
/// completes: whatever catches the cancellation drops it.
///
/// Outside a task, only an enclosing `catch_cancel` can catch it; with none, it stays pending.
///
/// ```
/// use tower_task::{catch_cancel, reraise, run, spawn, error::Cancelled};
///
/// run(async {
///     let t = spawn(async {
///         let inner = catch_cancel(reraise::<u8>(Cancelled::new(Some("again")))).await;
///         assert_eq!(inner.unwrap_err().message(), Some("again")); // caught one level up
///         7
///     });
///     assert_eq!(t.await.unwrap(), 7);
/// })
/// .unwrap();
/// ```
pub fn reraise<T>(cancelled: Cancelled) -> Reraise<T> {
    Reraise {
        cancelled,
        _out: PhantomData,
    }
}

/// The future of [`reraise`]: never completes.
#[must_use = "a cancellation is re-raised only when this is awaited"]
pub struct Reraise<T> {
    /// What is raised.
    cancelled: Cancelled,
    /// The type the `await` would have had.
    _out: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Reraise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reraise")
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

impl<T> Future for Reraise<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        cancel::raise(self.cancelled.clone());
        Poll::Pending
    }
}
