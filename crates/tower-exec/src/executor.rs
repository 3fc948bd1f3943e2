//! The [`Executor`] trait (asyncio's `concurrent.futures.Executor` as `run_in_executor` sees it)
//! and the type-erased [`Job`] an executor runs.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::error::BlockingError;
use crate::handoff::Completer;

/// Something that runs blocking jobs off the loop: the default [`ThreadPool`](crate::ThreadPool),
/// or your own (a dedicated thread, a rayon pool, a test double).
///
/// An executor must eventually either [`run`](Job::run) or [`reject`](Job::reject) every job it
/// is given; a job it simply drops completes its future with [`BlockingError::Dropped`], so no
/// awaiting future ever hangs on a lost job.
///
/// # Examples
///
/// A thread per job:
///
/// ```
/// use tower_exec::{Executor, Job, run_in_executor};
///
/// #[derive(Debug)]
/// struct ThreadPerJob;
///
/// impl Executor for ThreadPerJob {
///     fn execute(&self, job: Job) {
///         std::thread::spawn(move || job.run());
///     }
/// }
///
/// let v = tower_coro::block_on(run_in_executor(&ThreadPerJob, || 6 * 7)).unwrap();
/// assert_eq!(v, 42);
/// ```
pub trait Executor: Send + Sync {
    /// Arranges for `job` to be run (or rejected). Must not block on the job itself.
    fn execute(&self, job: Job);
}

impl<E: Executor + ?Sized> Executor for &E {
    fn execute(&self, job: Job) {
        (**self).execute(job);
    }
}

impl<E: Executor + ?Sized> Executor for Arc<E> {
    fn execute(&self, job: Job) {
        (**self).execute(job);
    }
}

impl<E: Executor + ?Sized> Executor for Box<E> {
    fn execute(&self, job: Job) {
        (**self).execute(job);
    }
}

/// One blocking closure and the cell its result goes to; what an [`Executor`] receives.
///
/// # Examples
///
/// ```
/// use std::sync::Mutex;
/// use tower_exec::{Executor, Job, run_in_executor};
///
/// /// Runs jobs only when told to (a test double).
/// #[derive(Debug, Default)]
/// struct Manual(Mutex<Vec<Job>>);
///
/// impl Executor for Manual {
///     fn execute(&self, job: Job) {
///         self.0.lock().unwrap().push(job);
///     }
/// }
///
/// let ex = Manual::default();
/// let fut = run_in_executor(&ex, || "ran");
/// for job in ex.0.lock().unwrap().drain(..) {
///     job.run();
/// }
/// assert_eq!(tower_coro::block_on(fut).unwrap(), "ran");
/// ```
pub struct Job {
    /// The closure and its completer.
    inner: Box<dyn Erased>,
}

/// A job with its result type erased.
trait Erased: Send {
    /// Runs the closure, catching a panic, and completes the cell.
    fn run(self: Box<Self>);
    /// Completes the cell with [`BlockingError::Shutdown`] without running the closure.
    fn reject(self: Box<Self>);
}

/// The concrete job.
struct Typed<F, T> {
    /// The closure.
    f: F,
    /// Where its result goes.
    completer: Completer<T>,
}

impl<F, T> Erased for Typed<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(self: Box<Self>) {
        let Typed { f, completer } = *self;
        // The closure is consumed by the call, so no state of it can be observed after a panic;
        // what it shares with the rest of the program is its own affair (as with
        // `std::thread::spawn`).
        let result = catch_unwind(AssertUnwindSafe(f)).map_err(BlockingError::Panicked);
        completer.complete(result);
    }

    fn reject(self: Box<Self>) {
        self.completer.complete(Err(BlockingError::Shutdown));
    }
}

impl Job {
    /// A job running `f` and completing `completer` with its result.
    pub(crate) fn new<F, T>(f: F, completer: Completer<T>) -> Job
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Job {
            inner: Box::new(Typed { f, completer }),
        }
    }

    /// Runs the closure on the calling thread and hands its result (or its panic) to the
    /// awaiting future. Never panics itself.
    pub fn run(self) {
        self.inner.run();
    }

    /// Completes the awaiting future with [`BlockingError::Shutdown`] without running the
    /// closure (for an executor that no longer accepts work).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_exec::{Executor, Job, error::BlockingError, run_in_executor};
    ///
    /// #[derive(Debug)]
    /// struct Closed;
    /// impl Executor for Closed {
    ///     fn execute(&self, job: Job) {
    ///         job.reject();
    ///     }
    /// }
    ///
    /// let err = tower_coro::block_on(run_in_executor(&Closed, || 1)).unwrap_err();
    /// assert!(matches!(err, BlockingError::Shutdown));
    /// ```
    pub fn reject(self) {
        self.inner.reject();
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}
