//! The process-wide default executor (asyncio's per-loop default `ThreadPoolExecutor`), and
//! [`shutdown_default_executor`].
//!
//! The default is shared by every loop of the process (the pool is `Send`; asyncio has one per
//! loop). Shutting it down takes it out of service; the next [`to_thread`](crate::to_thread)
//! lazily starts a fresh one, so one loop's shutdown does not break another loop.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::ShutdownTimeout;
use crate::executor::Job;
use crate::handoff::{Receiver, handoff};
use crate::pool::ThreadPool;

/// The current default pool. A plain registry read once per call, outside the modelled hand-off,
/// so it uses std's mutex directly (loom's cannot live in a `static`).
static DEFAULT: std::sync::Mutex<Option<ThreadPool>> = std::sync::Mutex::new(None);

/// Locks the registry, ignoring poison (no code panics while holding it).
fn registry() -> std::sync::MutexGuard<'static, Option<ThreadPool>> {
    DEFAULT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The default executor, started with the default configuration on first use.
///
/// # Examples
///
/// ```
/// let pool = tower_exec::default_executor();
/// assert!(pool.max_threads() >= 1);
/// ```
pub fn default_executor() -> ThreadPool {
    registry().get_or_insert_with(ThreadPool::new).clone()
}

/// Replaces the default executor (asyncio's `loop.set_default_executor`), returning the old one
/// if any (it keeps running until shut down or idle).
///
/// # Examples
///
/// ```
/// use tower_exec::{ThreadPool, set_default_executor};
///
/// let old = set_default_executor(ThreadPool::builder().max_threads(8).build());
/// assert_eq!(tower_exec::default_executor().max_threads(), 8);
/// # drop(old);
/// ```
pub fn set_default_executor(pool: ThreadPool) -> Option<ThreadPool> {
    registry().replace(pool)
}

/// Shuts the default executor down, waiting up to `timeout` for its threads to finish (asyncio's
/// `loop.shutdown_default_executor(timeout)`). The wait runs on a helper thread, so the loop
/// keeps running meanwhile. The next [`to_thread`](crate::to_thread) starts a fresh pool.
///
/// `tower_asyncio::run` calls this before it closes its loop, as `asyncio.run` does; a program
/// that drives an `EventLoop` by hand calls it before `close()`.
///
/// # Cancel safety
///
/// Dropping the future does not undo the shutdown: the old pool stops accepting work either way;
/// only the wait for its threads is abandoned.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_exec::{shutdown_default_executor, to_thread};
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     to_thread(|| ()).await.unwrap();
///     shutdown_default_executor(Duration::from_secs(5)).await.unwrap();
/// })
/// .unwrap();
/// lp.close().unwrap();
/// ```
pub fn shutdown_default_executor(timeout: Duration) -> ShutdownDefaultExecutor {
    let Some(pool) = registry().take() else {
        return ShutdownDefaultExecutor {
            state: State::Done(Some(Ok(()))),
        };
    };
    let (completer, receiver) = handoff();
    let waiter = pool.clone();
    let job = Job::new(move || waiter.shutdown(timeout), completer);
    // A fresh thread, as asyncio does: the pool cannot wait for its own shutdown.
    let spawned = std::thread::Builder::new()
        .name("tower-exec-shutdown".to_owned())
        .spawn(move || job.run());
    match spawned {
        Ok(_) => ShutdownDefaultExecutor {
            state: State::Waiting(receiver, pool),
        },
        // No thread for the wait: shut down without waiting.
        Err(_) => ShutdownDefaultExecutor {
            state: State::Done(Some(pool.shutdown(Duration::ZERO))),
        },
    }
}

/// Where a [`ShutdownDefaultExecutor`] is.
enum State {
    /// The helper thread is waiting for the pool's threads.
    Waiting(Receiver<Result<(), ShutdownTimeout>>, ThreadPool),
    /// The result is known (taken once).
    Done(Option<Result<(), ShutdownTimeout>>),
}

/// The future of [`shutdown_default_executor`].
///
/// # Cancel safety
///
/// Dropping it abandons only the wait; the pool is shut down regardless.
#[must_use = "the pool is shut down anyway, but the wait for its threads is not observed"]
pub struct ShutdownDefaultExecutor {
    /// Waiting or done.
    state: State,
}

impl Future for ShutdownDefaultExecutor {
    type Output = Result<(), ShutdownTimeout>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (receiver, pool) = match &mut this.state {
            State::Done(result) => {
                return Poll::Ready(result.take().expect("polled after completion"));
            }
            State::Waiting(receiver, pool) => (receiver, pool),
        };
        let result = match receiver.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(result)) => result,
            // The helper thread died without an answer (it cannot panic in practice): report
            // what is left now.
            Poll::Ready(Err(_)) => pool.shutdown(Duration::ZERO),
        };
        this.state = State::Done(None);
        Poll::Ready(result)
    }
}

impl fmt::Debug for ShutdownDefaultExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownDefaultExecutor")
            .field("waiting", &matches!(self.state, State::Waiting(..)))
            .finish()
    }
}
