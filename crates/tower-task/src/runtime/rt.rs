//! [`RuntimeBuilder`], [`Runtime`] and [`RuntimeHandle`]: starting the worker threads, spawning onto them,
//! `block_on`, shutdown.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use async_task::{Runnable, WithInfo};
use tower_loop::EventLoop;

use super::error::{BlockOnError, BuildError, ContextError};
use super::metrics::{RuntimeMetrics, WorkerMetrics};
use super::worker::{self, RuntimeLink, Shared, Unpark, Worker};
use crate::Task;
use crate::loom::{Arc, Ordering};
use crate::task::{also_list, get_task_factory, own_registry, spawn_in};

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
        let (exit_tx, exit_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut rt = Runtime {
            handle: RuntimeHandle {
                shared: shared.clone(),
            },
            threads: Vec::with_capacity(n),
            exit_rx,
        };
        for (index, local) in locals.into_iter().enumerate() {
            let mut b = thread::Builder::new().name((self.name)());
            if let Some(size) = self.stack_size {
                b = b.stack_size(size);
            }
            let (shared, exit_tx, ready_tx) = (shared.clone(), exit_tx.clone(), ready_tx.clone());
            let spawned = b.spawn(move || {
                run_worker(index, shared, local, &ready_tx);
                let _ = exit_tx.send(index);
            });
            match spawned {
                Ok(t) => rt.threads.push(Some(t)),
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

/// The body of worker thread `index`: its loop, with the worker installed as work source,
/// until shutdown stops the loop; then drop what is left on it.
fn run_worker(
    index: usize,
    shared: Arc<Shared>,
    local: super::queue::Local<tower_loop::AnyRunnable>,
    ready: &mpsc::Sender<std::io::Result<()>>,
) {
    let lp = match EventLoop::new() {
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
    let _ = registry.runtime.set(RuntimeLink::new(&shared));
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
        let me = worker::with_current(shared, |w| w.map(|w| w.index));
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

#[cfg(not(loom))]
thread_local! {
    /// The runtime entered by `block_on` on this thread.
    static ENTERED: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

#[cfg(loom)]
loom::thread_local! {
    /// The runtime entered by `block_on` on this thread.
    static ENTERED: RefCell<Option<Arc<Shared>>> = RefCell::new(None);
}

thread_local! {
    /// How many runtime contexts (a worker, `block_on`) are entered on this thread: the one
    /// thread-local read `tower_task::spawn` pays to know whether to spawn onto a runtime.
    static IN_RUNTIME: Cell<u32> = const { Cell::new(0) };
}

/// A worker or `block_on` entered a runtime on this thread.
pub(crate) fn enter_runtime() {
    let _ = IN_RUNTIME.try_with(|c| c.set(c.get() + 1));
}

/// Undoes [`enter_runtime`].
pub(crate) fn leave_runtime() {
    let _ = IN_RUNTIME.try_with(|c| c.set(c.get().saturating_sub(1)));
}

/// The runtime entered on this thread (a worker's, or `block_on`'s), if any: where
/// `tower_task::spawn` sends `Send` tasks.
#[inline]
pub(crate) fn entered() -> Option<RuntimeHandle> {
    if IN_RUNTIME.try_with(Cell::get).unwrap_or(0) == 0 {
        return None;
    }
    RuntimeHandle::current().ok()
}

/// Restores the previously entered runtime on drop.
struct Entered {
    /// What was entered before.
    prev: Option<Arc<Shared>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        leave_runtime();
        let prev = self.prev.take();
        let mine = ENTERED.try_with(|e| std::mem::replace(&mut *e.borrow_mut(), prev));
        drop(mine);
    }
}

/// A `Send + Sync + Clone` handle to a [`Runtime`]: spawn onto it and `block_on` from any
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
        if let Some(shared) = worker::current_shared() {
            return Ok(RuntimeHandle { shared });
        }
        ENTERED
            .try_with(|e| e.borrow().clone())
            .ok()
            .flatten()
            .map(|shared| RuntimeHandle { shared })
            .ok_or(ContextError::NoRuntime)
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
        let prev = ENTERED.with(|e| e.borrow_mut().replace(self.shared.clone()));
        enter_runtime();
        let entered = Entered { prev };
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

/// The spawn path of every `Send` task: one `async_task` allocation (the task core's wrapper
/// around the future, with the runtime's schedule function, which captures nothing) plus the
/// task's header, then a local push on a worker of `shared`, or the injector. The current
/// worker is found by a compare of a thread-local (`worker::with_current`), once for the
/// registry and once for the first schedule.
pub(crate) fn spawn_on<F>(
    shared: &Arc<Shared>,
    name: Option<String>,
    eager: Option<bool>,
    future: F,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // The spawning worker's registry (its owner thread: no lock), and whether its loop has a
    // task factory.
    let own = worker::with_current(shared, |w| {
        w.and_then(|w| w.registry.as_ref())
            .map(|r| (r.clone(), r.has_factory()))
    });
    let (registry, own_factory) = match own {
        Some((r, has_factory)) => (r, has_factory),
        // Not on a worker of `shared`: the first worker's registry.
        None => match shared.registries.iter().find_map(|r| r.get().cloned()) {
            Some(r) => (r, true),
            None => no_registry(),
        },
    };
    // The running loop's task factory. On a worker the running loop is the worker's (one loop
    // runs per thread), whose registry says whether it has one: most spawns skip the lookup.
    let factory = if own_factory {
        tower_loop::with_running_loop(get_task_factory)
            .ok()
            .flatten()
    } else {
        None
    };
    spawn_in(
        name,
        eager,
        factory,
        registry,
        future,
        |builder, unbound| builder.spawn(move |h| unbound.bind(h), WithInfo(worker::schedule_task)),
        // Looked up again (a compare of a thread-local): spawning may have run user code (a
        // task factory, an eager first poll).
        |r| worker::with_current(shared, |w| schedule_first(shared, w, r.into())),
    )
}

/// Every worker sets its registry before `build` returns; only the loom models (which spawn
/// with [`spawn_raw`]) run without.
#[cold]
fn no_registry() -> ! {
    unreachable!("tower_task::runtime: a runtime without worker loops")
}

/// Schedules a new task for the first time: the LIFO slot of `worker` (this thread's worker of
/// `shared`, if it is one), else the injector.
fn schedule_first(
    shared: &Arc<Shared>,
    worker: Option<&Worker>,
    runnable: tower_loop::AnyRunnable,
) {
    match worker {
        Some(w) => {
            w.count_spawn();
            w.schedule_local(runnable, false);
        }
        None => {
            shared.spawned_remote.fetch_add(1, Ordering::Relaxed);
            shared.schedule_remote(runnable);
        }
    }
}

/// The scheduler alone, for the loom models: a bare `async_task` task (no header, no loop),
/// detached, scheduled as [`spawn_on`] schedules (its schedule function holds the runtime,
/// having no header to find it through).
pub(crate) fn spawn_raw<F>(shared: &Arc<Shared>, future: F)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let s = shared.clone();
    let (runnable, task) = async_task::spawn(
        future,
        WithInfo(move |r: Runnable, info| worker::schedule(&s, r.into(), info)),
    );
    task.detach();
    worker::with_current(shared, |w| schedule_first(shared, w, runnable.into()));
}

/// Spawns a `!Send` task on the event loop running on this thread (a runtime worker's, or
/// `block_on`'s): it is polled only on this thread, through the loop's own ready queue.
///
/// # Errors
///
/// [`ContextError::NoRunningLoop`] if no event loop runs on this thread.
///
/// ```
/// use std::rc::Rc;
/// use tower_task::runtime::{spawn_local, RuntimeBuilder};
///
/// let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
/// let out = rt.block_on(async {
///     let shared = Rc::new(21); // not Send
///     let s = shared.clone();
///     spawn_local(async move { *s * 2 }).unwrap().await.unwrap()
/// });
/// assert_eq!(out.unwrap(), 42);
/// ```
pub fn spawn_local<F>(future: F) -> Result<Task<F::Output>, ContextError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    crate::TaskBuilder::new()
        .spawn_local(future)
        .map_err(|_| ContextError::NoRunningLoop)
}
