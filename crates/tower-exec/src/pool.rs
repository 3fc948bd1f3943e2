//! [`ThreadPool`]: the adaptive thread pool behind [`to_thread`](crate::to_thread) — it grows
//! under load up to a maximum, and threads idle for longer than a timeout exit.
//!
//! # The hand-off
//!
//! One mutex guards [`State`]; one condition variable (`work`) is where idle threads sleep,
//! another (`exited`) is where [`ThreadPool::shutdown`] waits for the last thread.
//!
//! - **submit** pushes the job; if some idle thread has not been notified yet (`idle > notified`)
//!   it counts a notification and wakes one, else if `threads < max` it starts a thread, else the
//!   job waits in the queue for a busy thread to come back.
//! - **a worker** pops jobs until the queue is empty, running each with the lock released; then
//!   it becomes idle (`idle += 1`) and waits. On waking it consumes one notification if any is
//!   outstanding. It exits when it timed out and the queue is empty, or on shutdown once the
//!   queue is drained.
//! - **shutdown** sets the flag, wakes everyone, and waits (bounded) until `threads == 0`.
//!   Jobs submitted after it are rejected ([`BlockingError::Shutdown`](crate::error::BlockingError));
//!   jobs already queued still run, as `concurrent.futures` does with `cancel_futures=False`.
//!
//! A notification can be "stolen" by a thread that timed out at the same moment; that thread then
//! finds the job in the queue and runs it, so no job is ever left queued with every thread
//! asleep. `tests/loom_pool.rs` checks these interleavings.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::ShutdownTimeout;
use crate::executor::{Executor, Job};
use crate::loom::{Condvar, Mutex, MutexGuard, thread};

/// The default idle timeout: a thread with nothing to do for this long exits.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default thread-name prefix; threads are named `tower-blocking-N`.
pub const DEFAULT_THREAD_NAME: &str = "tower-blocking";

/// The default maximum number of threads: `min(32, cpus + 4)`, as `concurrent.futures`'
/// `ThreadPoolExecutor` chooses.
pub fn default_max_threads() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

/// Configuration of a [`ThreadPool`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_exec::ThreadPool;
///
/// let pool = ThreadPool::builder()
///     .max_threads(4)
///     .idle_timeout(Duration::from_millis(200))
///     .thread_name("my-io")
///     .build();
/// assert_eq!(pool.max_threads(), 4);
/// ```
#[doc(alias = "Builder")]
#[derive(Debug, Clone)]
pub struct ThreadPoolBuilder {
    /// The most threads the pool runs at once (at least 1).
    max_threads: usize,
    /// How long an idle thread waits for work before exiting.
    idle_timeout: Duration,
    /// Threads are named `{name}-{n}`.
    name: String,
    /// Stack size of each thread, if not the platform default.
    stack_size: Option<usize>,
}

impl Default for ThreadPoolBuilder {
    fn default() -> Self {
        ThreadPoolBuilder {
            max_threads: default_max_threads(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            name: DEFAULT_THREAD_NAME.to_owned(),
            stack_size: None,
        }
    }
}

impl ThreadPoolBuilder {
    /// The most threads the pool runs at once; `0` is taken as `1`. Default
    /// [`default_max_threads`].
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n.max(1);
        self
    }

    /// How long a thread with nothing to do waits before exiting. Default
    /// [`DEFAULT_IDLE_TIMEOUT`] (10 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The thread-name prefix: threads are named `{name}-{n}`. Default `tower-blocking`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The stack size of each thread, in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The pool. No thread starts until the first job arrives.
    pub fn build(self) -> ThreadPool {
        ThreadPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                    shutdown: false,
                    next_id: 1,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                config: self,
            }),
        }
    }
}

/// An adaptive pool of named threads that runs blocking [`Job`]s; the default executor of
/// [`to_thread`](crate::to_thread). Cloning gives another handle to the same pool.
///
/// Dropping every handle does not stop the threads at once: they finish the queue and exit after
/// the idle timeout. Call [`shutdown`](Self::shutdown) to stop them deterministically.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_exec::{ThreadPool, run_in_executor};
///
/// let pool = ThreadPool::builder().max_threads(2).build();
/// let v = tower_coro::block_on(run_in_executor(&pool, || {
///     std::thread::current().name().unwrap().to_owned()
/// }))
/// .unwrap();
/// assert_eq!(v, "tower-blocking-1");
/// pool.shutdown(Duration::from_secs(5)).unwrap();
/// ```
#[derive(Clone)]
pub struct ThreadPool {
    /// The shared state.
    inner: Arc<Inner>,
}

/// What the pool's threads and handles share.
struct Inner {
    /// The queue and the counters.
    state: Mutex<State>,
    /// Idle threads wait here for work or shutdown.
    work: Condvar,
    /// `shutdown` waits here for `threads` to reach 0.
    exited: Condvar,
    /// Fixed at build time.
    config: ThreadPoolBuilder,
}

/// The mutable state, under `Inner::state`.
struct State {
    /// Jobs not yet taken by a thread.
    queue: VecDeque<Job>,
    /// Threads started and not yet exited (counted before the OS thread exists).
    threads: usize,
    /// Threads waiting on `work`.
    idle: usize,
    /// Notifications sent to `work` and not yet consumed by a waking thread (`<= idle` as seen by
    /// submitters; a thread that times out may consume one meant for another, see the module doc).
    notified: usize,
    /// No new jobs are accepted; threads exit once the queue is empty.
    shutdown: bool,
    /// The number in the next thread's name.
    next_id: usize,
}

impl ThreadPool {
    /// A pool with the default configuration.
    pub fn new() -> ThreadPool {
        ThreadPoolBuilder::default().build()
    }

    /// A builder to configure a pool.
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    /// The configured maximum number of threads.
    pub fn max_threads(&self) -> usize {
        self.inner.config.max_threads
    }

    /// The number of threads alive now (busy or idle).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tower_exec::ThreadPool::new();
    /// assert_eq!(pool.thread_count(), 0); // threads start on demand
    /// ```
    pub fn thread_count(&self) -> usize {
        self.inner.state.lock().threads
    }

    /// The number of threads waiting for work now.
    pub fn idle_count(&self) -> usize {
        self.inner.state.lock().idle
    }

    /// The number of jobs waiting for a thread.
    pub fn queued(&self) -> usize {
        self.inner.state.lock().queue.len()
    }

    /// Whether [`shutdown`](Self::shutdown) has been called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.state.lock().shutdown
    }

    /// Queues `job`, waking an idle thread or starting a new one when all are busy and fewer
    /// than the maximum run. After shutdown, rejects it.
    pub fn submit(&self, job: Job) {
        let mut st = self.inner.state.lock();
        if st.shutdown {
            drop(st);
            job.reject();
            return;
        }
        st.queue.push_back(job);
        if st.idle > st.notified {
            st.notified += 1;
            drop(st);
            self.inner.work.notify_one();
        } else if st.threads < self.inner.config.max_threads {
            st.threads += 1;
            let id = st.next_id;
            st.next_id += 1;
            drop(st);
            if self.start_thread(id).is_err() {
                self.thread_failed();
            }
        }
    }

    /// Stops accepting jobs, lets the threads finish the queue, and waits up to `timeout` for
    /// every thread to exit (asyncio's `executor.shutdown(wait=True)` with the timeout of
    /// `loop.shutdown_default_executor`). Later jobs are rejected with
    /// [`BlockingError::Shutdown`](crate::error::BlockingError::Shutdown).
    ///
    /// Blocks the calling thread; from async code use
    /// [`shutdown_default_executor`](crate::shutdown_default_executor), or run this in
    /// [`to_thread`](crate::to_thread) with another executor. Called from one of the pool's own
    /// threads, it cannot wait for that thread, and times out.
    ///
    /// # Errors
    ///
    /// [`ShutdownTimeout`] if some threads were still running a closure when `timeout` passed
    /// (they exit when it returns).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_exec::{ThreadPool, error::BlockingError, run_in_executor};
    ///
    /// let pool = ThreadPool::new();
    /// tower_coro::block_on(run_in_executor(&pool, || ())).unwrap();
    /// pool.shutdown(Duration::from_secs(5)).unwrap();
    /// assert_eq!(pool.thread_count(), 0);
    /// let late = tower_coro::block_on(run_in_executor(&pool, || ()));
    /// assert!(matches!(late, Err(BlockingError::Shutdown)));
    /// ```
    pub fn shutdown(&self, timeout: Duration) -> Result<(), ShutdownTimeout> {
        let mut st = self.inner.state.lock();
        st.shutdown = true;
        drop(st);
        self.inner.work.notify_all();
        let deadline = Instant::now().checked_add(timeout);
        let mut st = self.inner.state.lock();
        while st.threads > 0 {
            st = match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
                None => self.inner.exited.wait(st),
                Some(left) if left.is_zero() => {
                    return Err(ShutdownTimeout {
                        timeout,
                        threads_left: st.threads,
                    });
                }
                Some(left) => self.inner.exited.wait_timeout(st, left).0,
            };
        }
        Ok(())
    }

    /// Starts thread number `id`.
    fn start_thread(&self, id: usize) -> io::Result<()> {
        let inner = self.inner.clone();
        let mut b = thread::Builder::new().name(format!("{}-{id}", inner.config.name));
        if let Some(size) = inner.config.stack_size {
            b = b.stack_size(size);
        }
        b.spawn(move || inner.work_loop()).map(drop)
    }

    /// A thread could not be started: uncount it; if no thread is left to run the queue, reject
    /// what is queued rather than leave it hanging.
    fn thread_failed(&self) {
        let mut st = self.inner.state.lock();
        st.threads -= 1;
        let stranded: Vec<Job> = if st.threads == 0 {
            st.queue.drain(..).collect()
        } else {
            Vec::new()
        };
        drop(st);
        for job in stranded {
            job.reject();
        }
    }
}

impl Inner {
    /// The body of each pool thread.
    fn work_loop(&self) {
        let mut st = self.state.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                job.run();
                st = self.state.lock();
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let (guard, timed_out) = self.work.wait_timeout(st, self.config.idle_timeout);
            st = guard;
            st.idle -= 1;
            if st.notified > 0 {
                st.notified -= 1;
            } else if timed_out && st.queue.is_empty() && !st.shutdown {
                break;
            }
        }
        self.exit(st);
    }

    /// Uncounts the calling thread and tells `shutdown` when it was the last.
    fn exit(&self, mut st: MutexGuard<'_, State>) {
        st.threads -= 1;
        let last = st.threads == 0;
        drop(st);
        if last {
            self.exited.notify_all();
        }
    }
}

impl Default for ThreadPool {
    fn default() -> Self {
        ThreadPool::new()
    }
}

impl Executor for ThreadPool {
    fn execute(&self, job: Job) {
        self.submit(job);
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("ThreadPool")
            .field("name", &self.inner.config.name)
            .field("max_threads", &self.inner.config.max_threads)
            .field("threads", &st.threads)
            .field("idle", &st.idle)
            .field("queued", &st.queue.len())
            .field("shutdown", &st.shutdown)
            .finish()
    }
}
