//! [`Runtime`]: the owner of a runtime's worker threads — spawning and `block_on` through its
//! handle, and shutdown (on drop, or with a deadline).

use std::fmt;
use std::future::Future;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::builder::RuntimeBuilder;
use super::context::with_current;
use super::error::{BlockOnError, BuildError};
use super::handle::RuntimeHandle;
use super::metrics::RuntimeMetrics;
use super::shared::Unpark;
use crate::Task;

/// A multi-threaded runtime: N worker threads, each running its own event loop, with `Send`
/// tasks balanced by work stealing. Dropping it shuts it down (see
/// [`shutdown_timeout`](Self::shutdown_timeout)) and joins every worker.
///
/// ```
/// use tower_task::runtime::Runtime;
///
/// let rt = Runtime::new().unwrap();
/// let handles: Vec<_> = (0..10).map(|i| rt.spawn(async move { i * 2 })).collect();
/// let sum = rt
///     .block_on(async {
///         let mut sum = 0;
///         for h in handles {
///             sum += h.await.unwrap();
///         }
///         sum
///     })
///     .unwrap();
/// assert_eq!(sum, 90);
/// ```
pub struct Runtime {
    /// The handle spawns go through.
    handle: RuntimeHandle,
    /// Worker threads not yet joined.
    threads: Vec<Option<thread::JoinHandle<()>>>,
    /// Each worker sends its index here as the last thing it does.
    exit_rx: mpsc::Receiver<usize>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.threads.len())
            .field("shared", &self.handle.shared)
            .finish()
    }
}

impl Runtime {
    /// A runtime with the default [`RuntimeBuilder`] settings.
    ///
    /// # Errors
    ///
    /// As [`RuntimeBuilder::build`].
    pub fn new() -> Result<Runtime, BuildError> {
        RuntimeBuilder::new().build()
    }

    /// A `Send + Sync + Clone` handle to spawn onto this runtime from anywhere.
    pub fn handle(&self) -> &RuntimeHandle {
        &self.handle
    }

    /// Spawns a `Send` task (see [`RuntimeHandle::spawn`]).
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `future` to completion on the calling thread (see [`RuntimeHandle::block_on`]).
    ///
    /// # Errors
    ///
    /// As [`RuntimeHandle::block_on`].
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, BlockOnError> {
        self.handle.block_on(future)
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// A runtime whose `n` worker threads are being started (each recorded with
    /// [`add_thread`](Self::add_thread)); each sends its index to `exit_rx`'s sender as it
    /// exits.
    pub(crate) fn new_started(
        handle: RuntimeHandle,
        n: usize,
        exit_rx: mpsc::Receiver<usize>,
    ) -> Runtime {
        Runtime {
            handle,
            threads: Vec::with_capacity(n),
            exit_rx,
        }
    }

    /// Records a started worker thread (the next index).
    pub(crate) fn add_thread(&mut self, thread: thread::JoinHandle<()>) {
        self.threads.push(Some(thread));
    }

    /// Shuts down, waiting at most `timeout` for the workers to finish: each worker's loop stops
    /// after its current iteration, then drops the tasks queued on it (which cancels them and
    /// frees their memory), and closes: that drops its `spawn_local` tasks and timers, and every
    /// `Send` task registered on it, pending ones included (each is woken, and dropped when
    /// scheduled); tasks woken after this point are dropped when scheduled. Workers that have
    /// not exited by the deadline are detached (their tasks are dropped when, if ever, they
    /// exit).
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Stops the workers and joins them (with an optional deadline).
    fn shutdown(&mut self, timeout: Option<Duration>) {
        let shared = &self.handle.shared;
        if self.threads.is_empty() {
            return;
        }
        shared.begin_shutdown();
        let deadline = timeout.map(|t| Instant::now() + t);
        if let Some(d) = deadline {
            shared.exit.set_deadline(d);
        }
        for remote in shared.remotes.iter() {
            if let Some(Unpark::Loop(h)) = remote.unpark.get() {
                h.stop();
            }
        }
        // A runtime dropped on one of its own workers cannot wait for that worker.
        let me = with_current(shared, |w| w.map(|w| w.index));
        if let Some(me) = me {
            // The other workers do not wait for this one before closing their loops.
            shared.exit.stopped(me);
        }
        let mut waiting = self.threads.iter().filter(|t| t.is_some()).count();
        if let Some(me) = me {
            if self.threads[me].take().is_some() {
                waiting -= 1;
            }
        }
        let mut exited = vec![false; self.threads.len()];
        while waiting > 0 {
            let got = match deadline {
                None => self.exit_rx.recv().ok(),
                Some(d) => self
                    .exit_rx
                    .recv_timeout(d.saturating_duration_since(Instant::now()))
                    .ok(),
            };
            match got {
                Some(i) => {
                    if Some(i) != me {
                        exited[i] = true;
                        waiting -= 1;
                    }
                }
                None => break,
            }
        }
        for (i, t) in self.threads.iter_mut().enumerate() {
            if let Some(t) = t.take() {
                if exited[i] {
                    let _ = t.join();
                }
                // Else: past the deadline, detached.
            }
        }
        self.threads.clear();
        shared.finish_shutdown();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}
