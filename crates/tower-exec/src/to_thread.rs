//! [`to_thread`], [`to_thread_cancellable`] and [`run_in_executor`]: run a blocking closure off
//! the loop and await its result through the named future [`Blocking`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::cancel_token::CancelToken;
use crate::default::default_executor;
use crate::error::BlockingError;
use crate::executor::{Executor, Job};
use crate::handoff::{Receiver, handoff};

/// Runs `f` on the default executor (a [`ThreadPool`](crate::ThreadPool)) and resolves to its
/// result: asyncio's `asyncio.to_thread(f)` / `loop.run_in_executor(None, f)`.
///
/// The closure is submitted at once, before the future is first polled (as asyncio submits in
/// `run_in_executor`). Works under any executor — the tower loop, [`tower_coro::block_on`], or
/// another runtime — because completion is signalled through the future's waker.
///
/// # Cancel safety
///
/// Dropping the [`Blocking`] future abandons the result: the closure runs on to the end and its
/// value is dropped. Use [`to_thread_cancellable`] to let the closure notice and stop early.
///
/// # Examples
///
/// ```
/// use tower_exec::to_thread;
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let len = lp
///     .run_until_complete(async {
///         to_thread(|| std::fs::read_dir(".").map(|d| d.count()))
///             .await
///             .unwrap() // the closure did not panic
///             .unwrap() // and read_dir succeeded
///     })
///     .unwrap();
/// assert!(len > 0);
/// ```
pub fn to_thread<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    run_in_executor(&default_executor(), f)
}

/// Like [`to_thread`], but hands `f` a [`CancelToken`] that reports cancelled once the awaiting
/// future is dropped, so long work can stop early (what tokio's `spawn_blocking` cannot do).
///
/// If the future is dropped before the closure starts, the closure still runs, with its token
/// already cancelled.
///
/// # Cancel safety
///
/// Dropping the future sets the token; the closure's result, if it still produces one, is dropped.
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use tower_exec::to_thread_cancellable;
///
/// let (started_tx, started_rx) = mpsc::channel();
/// let (done_tx, done_rx) = mpsc::channel();
/// let fut = to_thread_cancellable(move |token| {
///     started_tx.send(()).unwrap();
///     let mut rounds = 0u64;
///     while token.check().is_ok() {
///         rounds += 1; // a long computation, checking in now and then
///         std::thread::yield_now();
///     }
///     done_tx.send(rounds).unwrap();
/// });
/// started_rx.recv().unwrap();
/// drop(fut); // asyncio: task.cancel()
/// done_rx.recv().unwrap(); // the closure noticed and returned
/// ```
pub fn to_thread_cancellable<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce(CancelToken) -> T + Send + 'static,
    T: Send + 'static,
{
    run_in_executor_cancellable(&default_executor(), f)
}

/// Runs `f` on `executor` and resolves to its result: asyncio's
/// `loop.run_in_executor(executor, f)`.
///
/// A panic in `f` comes back as [`BlockingError::Panicked`]; an executor that was shut down gives
/// [`BlockingError::Shutdown`]; one that drops the job gives [`BlockingError::Dropped`].
///
/// # Cancel safety
///
/// As for [`to_thread`]: dropping the future abandons the result; the closure runs on.
///
/// # Examples
///
/// ```
/// use tower_exec::{ThreadPool, run_in_executor};
///
/// let pool = ThreadPool::builder().max_threads(1).thread_name("db").build();
/// let name = tower_coro::block_on(run_in_executor(&pool, || {
///     std::thread::current().name().map(str::to_owned)
/// }));
/// assert_eq!(name.unwrap().as_deref(), Some("db-1"));
/// ```
pub fn run_in_executor<E, F, T>(executor: &E, f: F) -> Blocking<T>
where
    E: Executor + ?Sized,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (completer, receiver) = handoff();
    executor.execute(Job::new(f, completer));
    Blocking { receiver }
}

/// [`to_thread_cancellable`] on a given executor.
///
/// # Cancel safety
///
/// Dropping the future sets the closure's [`CancelToken`]; its result is dropped.
///
/// # Examples
///
/// ```
/// use tower_exec::{ThreadPool, run_in_executor_cancellable};
///
/// let pool = ThreadPool::new();
/// let r = tower_coro::block_on(run_in_executor_cancellable(&pool, |token| token.is_cancelled()));
/// assert_eq!(r.unwrap(), false);
/// ```
pub fn run_in_executor_cancellable<E, F, T>(executor: &E, f: F) -> Blocking<T>
where
    E: Executor + ?Sized,
    F: FnOnce(CancelToken) -> T + Send + 'static,
    T: Send + 'static,
{
    let (completer, receiver) = handoff();
    let token = match completer.shared() {
        Some(shared) => CancelToken::new(shared.clone()),
        None => CancelToken::never(),
    };
    executor.execute(Job::new(move || f(token), completer));
    Blocking { receiver }
}

/// The future of a blocking call ([`to_thread`], [`run_in_executor`], ...): resolves to the
/// closure's value, or to a [`BlockingError`].
///
/// # Cancel safety
///
/// Dropping it abandons the result (the closure runs on; a [`CancelToken`] given to it flips).
///
/// # Examples
///
/// ```
/// use tower_exec::{Blocking, to_thread};
///
/// let futures: Vec<Blocking<u32>> = (0..4).map(|i| to_thread(move || i * i)).collect();
/// let squares: Vec<u32> = tower_coro::block_on(tower_coro::try_join_all(futures)).unwrap();
/// assert_eq!(squares, [0, 1, 4, 9]);
/// ```
#[must_use = "the closure runs anyway, but its result is lost unless the future is awaited"]
pub struct Blocking<T> {
    /// The result cell.
    receiver: Receiver<T>,
}

impl<T> Future for Blocking<T> {
    type Output = Result<T, BlockingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().receiver.poll(cx)
    }
}

impl<T> Unpin for Blocking<T> {}

impl<T> fmt::Debug for Blocking<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking")
            .field("done", &self.receiver.is_terminated())
            .finish()
    }
}
