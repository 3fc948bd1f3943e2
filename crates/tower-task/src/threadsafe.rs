//! [`run_coroutine_threadsafe`]: submit a future to a loop from another thread and wait for it
//! there with a blocking [`ConcurrentFuture`] (asyncio's `run_coroutine_threadsafe`, which
//! returns a `concurrent.futures.Future`).
//!
//! The future is spawned as a task by a `call_soon_threadsafe` callback on the loop; the task's
//! outcome completes a shared cell that a thread blocks on (a mutex and a condition variable).
//! Cancelling the `ConcurrentFuture` completes it cancelled at once and cancels the task, as
//! asyncio's chained futures do. The cell's lock and condition variable come from the crate's
//! loom shim: `tests/loom_threadsafe.rs` models completion racing `cancel`, and a blocked
//! `result` woken by it.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use tower_coro::catch_unwind;
use tower_loop::LoopHandle;

use crate::error::{Cancelled, Panicked, TaskError, ThreadsafeError};
use crate::loom::{Arc, Condvar, Mutex, MutexGuard};
use crate::{TaskBuilder, TaskRef, current_task};

/// A done callback of a [`ConcurrentFuture`].
type Callback<T> = Box<dyn FnOnce(&ConcurrentFuture<T>) + Send + 'static>;

/// What the cell holds.
struct State<T> {
    /// The outcome; `None` while the task runs.
    outcome: Option<Result<T, TaskError>>,
    /// The outcome was taken by `result`.
    taken: bool,
    /// The task, once spawned (to cancel it).
    task: Option<TaskRef>,
    /// Callbacks to run when the outcome is set.
    callbacks: Vec<Callback<T>>,
}

/// The shared cell.
struct Shared<T> {
    /// Everything mutable; no user code runs under it.
    state: Mutex<State<T>>,
    /// Signalled when the outcome is set.
    done: Condvar,
}

impl<T> Shared<T> {
    /// Locks the state, ignoring poisoning (no user code runs under the lock).
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }
}

/// The result of a future submitted with [`run_coroutine_threadsafe`], for a thread that is
/// not the loop's (asyncio's `concurrent.futures.Future`). Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use tower_loop::EventLoop;
/// use tower_task::run_coroutine_threadsafe;
///
/// let lp = EventLoop::new().unwrap();
/// let handle = lp.handle();
/// let submitter = std::thread::spawn(move || {
///     let fut = run_coroutine_threadsafe(async { 6 * 7 }, &handle);
///     let v = fut.result(Some(Duration::from_secs(10)));
///     handle.call_soon_threadsafe(|| tower_loop::get_running_loop().unwrap().stop());
///     v
/// });
/// lp.run_forever().unwrap();
/// assert_eq!(submitter.join().unwrap().unwrap(), 42);
/// ```
pub struct ConcurrentFuture<T> {
    /// The cell.
    shared: Arc<Shared<T>>,
}

impl<T> Clone for ConcurrentFuture<T> {
    fn clone(&self) -> Self {
        ConcurrentFuture {
            shared: self.shared.clone(),
        }
    }
}

impl<T> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        let state = match &st.outcome {
            None => "pending",
            Some(Ok(_)) => "finished",
            Some(Err(TaskError::Cancelled(_))) => "cancelled",
            Some(Err(_)) => "failed",
        };
        f.debug_struct("ConcurrentFuture")
            .field("state", &state)
            .field("taken", &st.taken)
            .finish()
    }
}

/// Submits `fut` to the loop behind `handle` from any thread (asyncio's
/// `run_coroutine_threadsafe`): it is spawned there as a task in a later iteration, and the
/// returned [`ConcurrentFuture`] gives its outcome to a thread that blocks on it.
///
/// If the loop is closed (or closes before the task is spawned), the future is dropped and the
/// `ConcurrentFuture` ends cancelled.
pub fn run_coroutine_threadsafe<F>(fut: F, handle: &LoopHandle) -> ConcurrentFuture<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let cf = ConcurrentFuture::pending();
    let report = Report(Some(cf.clone()));
    let cell = cf.clone();
    handle.call_soon_threadsafe(move || {
        if cell.done() {
            return; // cancelled before it started (dropping `report` changes nothing)
        }
        let run = async move {
            let out = catch_unwind(AssertUnwindSafe(fut)).await;
            let mut report = report;
            report.complete(out.map_err(|p| TaskError::Panicked(Panicked::new(p))));
        };
        // Without a running loop `run` is dropped, and its report completes the cell
        // cancelled.
        if let Ok(task) = TaskBuilder::new().spawn(run) {
            let cancel = {
                let mut st = cell.shared.lock();
                st.task = Some(task.task_ref().clone());
                // Cancelled between the check above and now: pass it on.
                st.outcome.is_some()
            };
            if cancel {
                task.cancel_with(CANCEL_MSG);
            }
        }
    });
    cf
}

/// The message a task gets when its `ConcurrentFuture` is cancelled.
const CANCEL_MSG: &str = "the concurrent future was cancelled";

/// Completes the cell with the task's outcome; if dropped first (the task was cancelled, or
/// the loop closed before it ran), completes it cancelled.
struct Report<T>(Option<ConcurrentFuture<T>>);

impl<T> Report<T> {
    /// Completes the cell with `out`.
    fn complete(&mut self, out: Result<T, TaskError>) {
        if let Some(cf) = self.0.take() {
            cf.set(out);
        }
    }
}

impl<T> Drop for Report<T> {
    fn drop(&mut self) {
        if let Some(cf) = self.0.take() {
            let msg = current_task().and_then(|t| t.header().cancel_msg());
            let msg = msg.as_deref().or(Some("the event loop was closed"));
            cf.set(Err(TaskError::Cancelled(Cancelled::new(msg))));
        }
    }
}

impl<T> ConcurrentFuture<T> {
    /// A pending cell with no task behind it.
    fn pending() -> Self {
        ConcurrentFuture {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    outcome: None,
                    taken: false,
                    task: None,
                    callbacks: Vec::new(),
                }),
                done: Condvar::new(),
            }),
        }
    }

    /// For the loom models: a pending cell with no loop and no task behind it.
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn model_new() -> Self {
        Self::pending()
    }

    /// For the loom models: what the task's completion does (returns whether it was set).
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn model_complete(&self, value: T) -> bool {
        self.set(Ok(value))
    }

    /// Sets the outcome unless one is set, wakes the waiting threads and runs the callbacks
    /// (on this thread, after the lock is released). Returns whether it was set.
    fn set(&self, out: Result<T, TaskError>) -> bool {
        let callbacks = {
            let mut st = self.shared.lock();
            if st.outcome.is_some() || st.taken {
                return false;
            }
            st.outcome = Some(out);
            std::mem::take(&mut st.callbacks)
        };
        self.shared.done.notify_all();
        for cb in callbacks {
            cb(self);
        }
        true
    }

    /// Whether the outcome is set (finished, failed or cancelled).
    pub fn done(&self) -> bool {
        let st = self.shared.lock();
        st.outcome.is_some() || st.taken
    }

    /// Whether it was cancelled.
    pub fn cancelled(&self) -> bool {
        matches!(
            self.shared.lock().outcome,
            Some(Err(TaskError::Cancelled(_)))
        )
    }

    /// Cancels it (asyncio's `Future.cancel` on the concurrent future): returns `false` if it
    /// is already done; otherwise it is cancelled now (waiting threads wake with
    /// [`ThreadsafeError::Cancelled`]) and the task on the loop is cancelled too — it may
    /// still run its cleanup there, but its outcome is not reported.
    pub fn cancel(&self) -> bool {
        let task = self.shared.lock().task.clone();
        if !self.set(Err(TaskError::Cancelled(Cancelled::new(Some(CANCEL_MSG))))) {
            return false;
        }
        if let Some(t) = task {
            t.cancel_with(CANCEL_MSG);
        }
        true
    }

    /// Blocks this thread until the outcome is set or `timeout` passes (`None`: no limit), then
    /// takes the value (as `std::sync::mpsc::Receiver::recv_timeout` does: a second call after
    /// a value was taken is an error).
    ///
    /// Never call it on the loop's own thread while the loop should run the task: the thread
    /// would wait for itself.
    ///
    /// # Errors
    ///
    /// [`ThreadsafeError::Timeout`] if `timeout` passed first (call again to keep waiting);
    /// [`ThreadsafeError::Cancelled`], [`ThreadsafeError::Panicked`] for those outcomes;
    /// [`ThreadsafeError::Taken`] if the value was taken already.
    pub fn result(&self, timeout: Option<Duration>) -> Result<T, ThreadsafeError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = self.shared.lock();
        while st.outcome.is_none() && !st.taken {
            st = match deadline {
                None => self.shared.done.wait(st),
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        return Err(ThreadsafeError::Timeout);
                    }
                    self.shared.done.wait_timeout(st, at - now).0
                }
            };
        }
        match st.outcome.take() {
            None => Err(ThreadsafeError::Taken),
            Some(out) => {
                st.taken = true;
                match out {
                    Ok(v) => Ok(v),
                    Err(TaskError::Cancelled(c)) => {
                        // Cancellation is not consumed: later calls see it again.
                        st.outcome = Some(Err(TaskError::Cancelled(c.clone())));
                        Err(ThreadsafeError::Cancelled(c))
                    }
                    Err(TaskError::Panicked(p)) => Err(ThreadsafeError::Panicked(p)),
                    // (`Failed` is a group child's; a submitted future is not one.)
                    Err(TaskError::AwaitedItself | TaskError::Failed) => {
                        Err(ThreadsafeError::Taken)
                    }
                }
            }
        }
    }

    /// Adds a callback run once the outcome is set: on the thread that sets it (the loop's,
    /// or the one calling [`cancel`](Self::cancel)), or at once on this thread if it is set
    /// already (asyncio's `concurrent.futures.Future.add_done_callback`).
    pub fn add_done_callback<F>(&self, f: F)
    where
        F: FnOnce(&ConcurrentFuture<T>) + Send + 'static,
    {
        {
            let mut st = self.shared.lock();
            if st.outcome.is_none() && !st.taken {
                st.callbacks.push(Box::new(f));
                return;
            }
        }
        f(self);
    }
}
