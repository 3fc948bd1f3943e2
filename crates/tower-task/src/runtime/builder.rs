//! [`RuntimeBuilder`]: configuring and starting a runtime's worker threads, and the body each
//! of them runs (its event loop, with the worker installed as the loop's work source).

use std::fmt;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;

use tower_loop::{EventLoop, IoDriver};

use super::error::BuildError;
use super::handle::RuntimeHandle;
use super::queue::Local;
use super::rt::Runtime;
use super::schedule;
use super::shared::{Shared, Unpark};
use super::worker::Worker;
use crate::loom::Arc;
use crate::task::{also_list, own_registry};

/// Makes the thread name of a worker (a std `Arc`: configuration, never modelled by loom).
type NameFn = std::sync::Arc<dyn Fn() -> String + Send + Sync + 'static>;

/// Configures and starts a [`Runtime`].
///
/// ```
/// use tower_task::runtime::RuntimeBuilder;
///
/// let rt = RuntimeBuilder::new()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// let name = rt
///     .block_on(rt.spawn(async { std::thread::current().name().map(String::from) }))
///     .unwrap()
///     .unwrap();
/// assert_eq!(name.as_deref(), Some("my-worker"));
/// ```
#[doc(alias = "Builder")]
pub struct RuntimeBuilder {
    /// Number of workers; `None`: one per available core.
    workers: Option<usize>,
    /// Thread names.
    name: NameFn,
    /// Stack size of the worker threads, if not the default.
    stack_size: Option<usize>,
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("workers", &self.workers)
            .field("stack_size", &self.stack_size)
            .finish_non_exhaustive()
    }
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RuntimeBuilder {
    /// A builder with the defaults: one worker per available core, threads named
    /// `tower-worker`.
    pub fn new() -> RuntimeBuilder {
        RuntimeBuilder {
            workers: None,
            name: std::sync::Arc::new(|| "tower-worker".to_owned()),
            stack_size: None,
        }
    }

    /// Runs `n` worker threads (`0` makes [`build`](Self::build) fail).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }

    /// Names every worker thread `name`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.name = std::sync::Arc::new(move || name.clone());
        self
    }

    /// Names each worker thread with what `f` returns (called once per thread, on the thread
    /// calling [`build`](Self::build)).
    pub fn thread_name_fn<F>(mut self, f: F) -> Self
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.name = std::sync::Arc::new(f);
        self
    }

    /// Sets the stack size of the worker threads, in bytes.
    pub fn thread_stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the worker threads, each with its own event loop, and returns once all run.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroWorkers`] for `worker_threads(0)`; [`BuildError::Io`] if a thread or
    /// an event loop could not be created (the threads already started are stopped and joined).
    pub fn build(self) -> Result<Runtime, BuildError> {
        let n = match self.workers {
            Some(0) => return Err(BuildError::ZeroWorkers),
            Some(n) => n,
            None => thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let (shared, locals) = Shared::new(n);
        // The workers' `Async` sources are registered with one poller that the worker about
        // to block polls (docs/decisions/0011-multi-thread-io.md).
        let driver = IoDriver::new(n).map_err(BuildError::Io)?;
        let (exit_tx, exit_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut rt = Runtime::new_started(RuntimeHandle::new(shared.clone()), n, exit_rx);
        for (index, local) in locals.into_iter().enumerate() {
            let mut b = thread::Builder::new().name((self.name)());
            if let Some(size) = self.stack_size {
                b = b.stack_size(size);
            }
            let (shared, exit_tx, ready_tx) = (shared.clone(), exit_tx.clone(), ready_tx.clone());
            let driver = driver.clone();
            let spawned = b.spawn(move || {
                run_worker(index, shared, local, &driver, &ready_tx);
                let _ = exit_tx.send(index);
            });
            match spawned {
                Ok(t) => rt.add_thread(t),
                // Dropping `rt` stops and joins the threads started so far.
                Err(e) => return Err(BuildError::Io(e)),
            }
        }
        drop(ready_tx);
        for _ in 0..n {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(BuildError::Io(e)),
                Err(_) => return Err(BuildError::Io(std::io::Error::other("worker exited"))),
            }
        }
        Ok(rt)
    }
}

/// The body of worker thread `index`: its loop (member `index` of the runtime's I/O
/// driver), with the worker installed as work source, until shutdown stops the loop; then drop
/// what is left on it.
fn run_worker(
    index: usize,
    shared: Arc<Shared>,
    local: Local<tower_loop::AnyRunnable>,
    driver: &std::sync::Arc<IoDriver>,
    ready: &mpsc::Sender<std::io::Result<()>>,
) {
    let lp = match EventLoop::new().and_then(|lp| lp.set_io_driver(driver, index).map(|()| lp)) {
        Ok(lp) => lp,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // Set once, before `build` returns (nobody else sets slot `index`).
    let _ = shared.remotes[index].unpark.set(Unpark::Loop(lp.handle()));
    // The worker registers the `Send` tasks spawned on it in its loop's own registry (its
    // owner thread: no lock), and its loop lists every worker's (`all_tasks`, the task tree).
    let registry = own_registry(&lp);
    // Before the registry is published (and any task registered in it): the schedule
    // function of the runtime's tasks finds the runtime through it.
    let _ = registry.scheduler.set(schedule::link(&shared));
    let _ = shared.registries[index].set(registry.clone());
    also_list(&lp, shared.registries.clone());
    shared.exit.started(index);
    let worker = Rc::new(Worker::new(index, shared.clone(), local, Some(registry)));
    lp.set_work_source(Some(worker.clone()));
    worker.enter(|| {
        let _ = ready.send(Ok(()));
        // Returns at shutdown (`LoopHandle::stop`).
        let _ = lp.run_forever();
    });
    lp.set_work_source(None);
    worker.drain();
    drop(worker);
    // No task of the runtime is polled once every worker got here (see `exit`).
    shared.exit.stopped(index);
    shared.exit.wait_all_stopped();
    drop(shared);
    // Drops `spawn_local` tasks, timers and registrations of this loop, and (the registry's
    // close hook) wakes every task registered in its registry: with the worker gone and
    // `shutdown` set, each wake-up drops the task's runnable and so its future. This is how
    // shutdown reaches a pending task that nothing else would ever wake.
    let _ = lp.close();
}
