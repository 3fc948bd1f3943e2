//! [`RuntimeHandle`]: a runtime as any thread reaches it — spawning onto it, `block_on`, its
//! metrics — and [`entered`], the runtime `tower_task::spawn` sends `Send` tasks to.

use std::fmt;
use std::future::Future;

use tower_loop::EventLoop;

use super::context;
use super::error::{BlockOnError, ContextError};
use super::metrics::{RuntimeMetrics, WorkerMetrics};
use super::shared::Shared;
use super::spawn::spawn_on;
use crate::Task;
use crate::loom::{Arc, Ordering};

/// The runtime entered on this thread (a worker's, or `block_on`'s), if any: where
/// `tower_task::spawn` sends `Send` tasks.
#[inline]
pub(crate) fn entered() -> Option<RuntimeHandle> {
    if !context::in_runtime() {
        return None;
    }
    RuntimeHandle::current().ok()
}

/// A `Send + Sync + Clone` handle to a [`Runtime`](super::Runtime): spawn onto it and `block_on` from any
/// thread. Spawning after the runtime shut down gives a handle whose task is cancelled.
///
/// ```
/// use tower_task::runtime::{RuntimeBuilder, RuntimeHandle};
///
/// let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
/// let handle = rt.handle().clone();
/// let from_thread = std::thread::spawn(move || handle.block_on(handle.spawn(async { 5 })))
///     .join()
///     .unwrap();
/// assert_eq!(from_thread.unwrap().unwrap(), 5);
/// // Inside the runtime, `RuntimeHandle::current` finds it.
/// let same = rt.block_on(rt.spawn(async { RuntimeHandle::current().is_ok() })).unwrap();
/// assert!(same.unwrap());
/// ```
#[doc(alias = "Handle")]
#[derive(Clone)]
pub struct RuntimeHandle {
    /// The runtime's shared state.
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for RuntimeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeHandle")
            .field("shared", &self.shared)
            .finish()
    }
}

impl RuntimeHandle {
    /// The runtime this code runs on: from a worker thread, or inside `block_on`.
    ///
    /// # Errors
    ///
    /// [`ContextError::NoRuntime`] elsewhere.
    pub fn current() -> Result<RuntimeHandle, ContextError> {
        context::current()
            .map(|shared| RuntimeHandle { shared })
            .ok_or(ContextError::NoRuntime)
    }

    /// The handle of `shared`.
    pub(crate) fn new(shared: Arc<Shared>) -> RuntimeHandle {
        RuntimeHandle { shared }
    }

    /// Spawns a `Send` task and returns its [`Task`] handle (the same as
    /// [`tower_task::spawn`](crate::spawn)'s: cancel with a message, name, done callbacks;
    /// awaiting gives `Result<T, TaskError>`; dropping detaches). From one of the runtime's
    /// workers it goes to that worker's LIFO slot (its previous occupant to the local queue),
    /// with no lock; from anywhere else, to the global injector, waking one sleeping worker.
    /// A panic in the task is caught and handed to whoever awaits the handle.
    ///
    /// Inside the runtime (a task, or `block_on`), plain [`tower_task::spawn`](crate::spawn)
    /// and [`tower_task::TaskBuilder::spawn`](crate::TaskBuilder::spawn) come here too.
    ///
    /// The task is registered in the registry of the worker that spawns it (of the first
    /// worker, from outside): [`all_tasks`](crate::all_tasks) and
    /// [`task_tree`](crate::task_tree) on any worker see every task of the runtime, and done
    /// callbacks run on that worker's loop. (`block_on`'s own loop keeps its own registry: its
    /// `spawn_local` tasks are freed when it closes.)
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&self.shared, None, None, future)
    }

    /// [`spawn`](Self::spawn) with a name and an eagerness choice (from a [`crate::TaskBuilder`]).
    pub(crate) fn spawn_task<F>(
        &self,
        name: Option<String>,
        eager: Option<bool>,
        future: F,
    ) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&self.shared, name, eager, future)
    }

    /// Runs `future` to completion on the calling thread, on a fresh event loop (so it may use
    /// timers, I/O and `spawn_local`), with this runtime entered ([`RuntimeHandle::current`]). The
    /// future need not be `Send`.
    ///
    /// # Errors
    ///
    /// [`BlockOnError::LoopRunning`] if called where an event loop already runs (a worker, a
    /// task, another `block_on`); [`BlockOnError::Io`] if the loop cannot be created;
    /// [`BlockOnError::Stopped`] if the future stopped its own loop.
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, BlockOnError> {
        if tower_loop::get_running_loop().is_ok() {
            return Err(BlockOnError::LoopRunning);
        }
        let lp = EventLoop::new().map_err(BlockOnError::Io)?;
        let entered = context::enter_block_on(self.shared.clone());
        let out = lp.run_until_complete(future);
        drop(entered);
        let _ = lp.close();
        out.map_err(|e| match e {
            tower_loop::error::RunError::StoppedBeforeComplete => BlockOnError::Stopped,
            tower_loop::error::RunError::Poller(e) => BlockOnError::Poller(e),
            _ => BlockOnError::LoopRunning,
        })
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        let shared = &self.shared;
        RuntimeMetrics {
            spawned_remote: shared.spawned_remote.load(Ordering::Relaxed),
            injector_depth: shared.inject.len(),
            live_tasks: shared
                .registries
                .iter()
                .filter_map(|r| r.get())
                .map(|r| r.len())
                .sum(),
            searching: shared.idle.num_searching(),
            unparked: shared.idle.num_unparked(),
            workers: shared
                .remotes
                .iter()
                .map(|r| WorkerMetrics::read(&r.counters, r.steal.len()))
                .collect(),
        }
    }
}
