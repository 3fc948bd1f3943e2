//! A worker: the [`WorkSource`] installed on each worker thread's event loop, which feeds the
//! loop from the LIFO slot, the local queue, the injector and other workers' queues, and decides
//! when the worker may sleep.
//!
//! # Who may touch which field
//!
//! - [`Shared`] is reached by every thread through an `Arc`: the stealers, the injector and the
//!   idle bookkeeping are thread-safe; `unpark[i]` is set once by worker `i` at start-up, before
//!   the runtime is handed out, and only read afterwards.
//! - [`Worker`] lives on its worker thread (`Rc`, `Cell`s): only that thread touches its LIFO
//!   slot, its local queue's owner end and its flags. Other threads reach its queue only through
//!   `Shared::remotes[i].steal`, and its loop only through `unpark[i]`.
//!
//! # One iteration of a worker's loop
//!
//! The loop asks [`Worker::fill`] for runnables once per iteration: the LIFO slot first, then
//! the local queue, and one task from the injector every iteration for fairness. Within the
//! batch, after each task the loop asks [`Worker::next_in_batch`] for the task it woke into the
//! LIFO slot and runs it at once (at most `MAX_LIFO_IN_BATCH` in a row after each batch item,
//! so a ping-pong pair cannot starve the queue behind it). A worker with nothing local takes
//! a batch from the injector, else steals half of another worker's queue (if fewer than half
//! the workers are searching already). When the loop is about to block,
//! [`Worker::before_park`] makes a last search, then records the worker as sleeping (see
//! [`idle`](super::idle)); the loop then blocks in its reactor, so timers and I/O keep working,
//! and a notifier wakes it through the loop's cross-thread wake-up (a syscall only if it is
//! really blocked).

use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;

use async_task::ScheduleInfo;
use tower_loop::AnyRunnable as Runnable;
use tower_loop::WorkSource;

use super::idle::Idle;
use super::inject::Inject;
use super::metrics::{WorkerCounters, bump};
use super::queue::{Local, Stealer};
use crate::loom::{Arc, AtomicBool, Ordering};
use crate::task::Header;

/// How a worker is woken from another thread.
pub(crate) enum Unpark {
    /// The worker's event loop: `LoopHandle::wake` (a syscall only if it is parked).
    Loop(tower_loop::LoopHandle),
    /// A custom wake-up (the loom models' parkers).
    Custom(Box<dyn Fn() + Send + Sync>),
}

/// Aligns (and so pads) `T` to 128 bytes — two cache lines, as the adjacent-line prefetcher
/// pulls lines in pairs — so that what one thread writes often shares no line with what
/// another thread reads or writes (false sharing).
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for CachePadded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What other threads know of worker `i`. Each entry, and its counters within it, sit on their
/// own cache lines: the owner bumps its counters on every poll, other workers read `steal` and
/// `unpark` when they search or wake it.
pub(crate) struct Remote {
    /// Steals from its local queue.
    pub(crate) steal: Stealer<Runnable>,
    /// Wakes it; set once at start-up.
    pub(crate) unpark: OnceLock<Unpark>,
    /// Its statistics (written by the owner on every poll).
    pub(crate) counters: CachePadded<WorkerCounters>,
}

/// The state of a runtime shared by its workers and handles.
///
/// Aligned to 128 bytes so that, inside the `Arc`, the reference counts (changed by handles,
/// and by wake-ups from outside the workers, which upgrade a task's weak link) have their own
/// lines; the fields written often by several threads (`inject`, `idle`) are padded onto lines
/// of their own too, away from the read-mostly ones (`remotes`, `registries`, `shutdown`).
#[repr(align(128))]
pub(crate) struct Shared {
    /// One entry per worker.
    pub(crate) remotes: Box<[CachePadded<Remote>]>,
    /// Work from outside the workers, and local-queue overflow.
    pub(crate) inject: CachePadded<Inject<Runnable>>,
    /// Searching and sleeping workers.
    pub(crate) idle: CachePadded<Idle>,
    /// Set when shutdown begins: runnables scheduled from now on are dropped.
    pub(crate) shutdown: AtomicBool,
    /// The workers' exit rendezvous: no worker loop closes before every worker stopped polling.
    pub(crate) exit: super::exit::Exit,
    /// Tasks spawned from outside the workers (written by those spawners: own lines).
    pub(crate) spawned_remote: CachePadded<crate::loom::StatU64>,
    /// The task registries of the worker loops, one slot per worker, set as each starts: a
    /// task spawned on a worker is registered in that worker's (lock-free: its owner thread),
    /// one spawned from outside in the first one set; every worker loop lists them all.
    pub(crate) registries: crate::task::RegistrySet,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("workers", &self.remotes.len())
            .field("inject", &self.inject)
            .field("idle", &self.idle)
            .finish()
    }
}

impl Shared {
    /// Shared state for `n` workers, with their local queues' owner ends (to move to the
    /// worker threads).
    pub(crate) fn new(n: usize) -> (Arc<Shared>, Vec<Local<Runnable>>) {
        let mut locals = Vec::with_capacity(n);
        let remotes = (0..n)
            .map(|_| {
                let (local, steal) = super::queue::local();
                locals.push(local);
                CachePadded(Remote {
                    steal,
                    unpark: OnceLock::new(),
                    counters: CachePadded::default(),
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            remotes,
            inject: CachePadded(Inject::new()),
            idle: CachePadded(Idle::new(n)),
            shutdown: AtomicBool::new(false),
            exit: super::exit::Exit::new(n),
            spawned_remote: CachePadded(crate::loom::StatU64::new(0)),
            registries: (0..n).map(|_| OnceLock::new()).collect(),
        });
        (shared, locals)
    }

    /// Wakes worker `i` (counted in its metrics).
    pub(crate) fn unpark(&self, i: usize) {
        let remote = &self.remotes[i];
        remote.counters.unparks.fetch_add(1, Ordering::Relaxed);
        match remote.unpark.get() {
            Some(Unpark::Loop(handle)) => handle.wake(),
            Some(Unpark::Custom(f)) => f(),
            None => {}
        }
    }

    /// After publishing shared work: wakes a sleeper if no one is searching.
    pub(crate) fn notify_parked(&self) {
        if let Some(i) = self.idle.worker_to_notify() {
            self.unpark(i);
        }
    }

    /// Schedules `runnable` from a thread that is not one of this runtime's workers: the
    /// injector, then wake a sleeper. During shutdown the runnable is dropped (its task is
    /// cancelled).
    pub(crate) fn schedule_remote(&self, runnable: Runnable) {
        if self.shutdown.load(Ordering::Acquire) {
            drop(runnable);
            return;
        }
        match self.inject.push(runnable) {
            Ok(()) => self.notify_parked(),
            Err(runnable) => drop(runnable),
        }
    }

    /// Whether any queue holds work (the last searcher's final check before sleeping).
    fn work_pending(&self) -> bool {
        !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty())
    }

    /// Begins shutdown: later schedules drop their runnables, the injector is closed.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.inject.close();
    }

    /// Ends shutdown (the workers have exited): drops what the injector holds.
    ///
    /// The tasks that are not queued anywhere (pending, their wakers held by whatever they wait
    /// on, or by nothing) were dropped by the workers themselves: each closes its loop as it
    /// exits, and the loop's task registry — in which every task of the runtime is registered
    /// — wakes every task it holds (see [`Registry`](crate::task::Registry)); the wake-up
    /// comes to the runtime's schedule function, which sees `shutdown` and drops the runnable,
    /// and with it the future.
    pub(crate) fn finish_shutdown(&self) {
        let left = self.inject.drain();
        drop(left);
    }
}

/// What a worker loop's task registry keeps of its runtime (`Registry::runtime`, set once as
/// the worker starts): how the schedule function of a runtime task, which captures nothing,
/// finds the runtime from the task's header (`header.registry`).
pub(crate) struct RuntimeLink {
    /// The runtime's address: only compared with the current worker's, never dereferenced.
    id: usize,
    /// The runtime, for wake-ups from threads that are not its workers. Weak: the runtime owns
    /// the registries (`Shared::registries`), and a task may outlive the runtime.
    #[cfg(not(loom))]
    shared: std::sync::Weak<Shared>,
    /// Under loom, whose `Arc` has no `Weak`, a strong reference (a cycle through
    /// `Shared::registries`). Never made there: the models spawn bare tasks ([`spawn_raw`]
    /// (super::rt::spawn_raw)), without registries or loops.
    #[cfg(loom)]
    shared: Arc<Shared>,
}

impl fmt::Debug for RuntimeLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeLink")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl RuntimeLink {
    /// The link to `shared`.
    pub(crate) fn new(shared: &Arc<Shared>) -> RuntimeLink {
        RuntimeLink {
            id: runtime_id(shared),
            #[cfg(not(loom))]
            shared: Arc::downgrade(shared),
            #[cfg(loom)]
            shared: shared.clone(),
        }
    }

    /// The runtime, unless it is gone (every `Runtime`, `RuntimeHandle` and worker dropped).
    fn upgrade(&self) -> Option<Arc<Shared>> {
        #[cfg(not(loom))]
        return self.shared.upgrade();
        #[cfg(loom)]
        return Some(self.shared.clone());
    }
}

/// The identity of a runtime: its shared state's address.
#[inline]
fn runtime_id(shared: &Arc<Shared>) -> usize {
    Arc::as_ptr(shared) as usize
}

/// The worker running on this thread: what [`Worker::enter`] sets for the length of its call.
///
/// Two plain cells, not a `RefCell<Option<Rc<Worker>>>`: a wake-up on a worker reads the
/// runtime id and compares it (a thread-local read and a compare), and reads the pointer only
/// when the ids match, without a borrow flag or a reference count.
struct Current {
    /// The running worker, or null. Non-null only inside [`Worker::enter`], which borrows the
    /// worker for its whole call (see the SAFETY argument in [`with_current_id`]).
    worker: Cell<*const Worker>,
    /// The [`runtime_id`] of the running worker's runtime, or 0 (no runtime has address 0).
    id: Cell<usize>,
}

impl Current {
    /// No worker running.
    const fn new() -> Current {
        Current {
            worker: Cell::new(std::ptr::null()),
            id: Cell::new(0),
        }
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The worker running on this thread, if any (see [`Current`]).
    static CURRENT: Current = const { Current::new() };
}

#[cfg(loom)]
loom::thread_local! {
    /// The worker running on this thread, if any (see [`Current`]).
    static CURRENT: Current = Current::new();
}

/// Calls `f` with the worker of runtime `id` ([`runtime_id`]) running on this thread, or
/// `None`.
#[inline]
fn with_current_id<R>(id: usize, f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let ptr = CURRENT
        .try_with(|c| {
            if c.id.get() == id {
                c.worker.get()
            } else {
                std::ptr::null()
            }
        })
        .unwrap_or(std::ptr::null());
    if ptr.is_null() {
        return f(None);
    }
    // Why the pointer is valid: `CURRENT` is written only by `Worker::enter`, which stores
    // `self` (a `&Worker` borrowed for the whole call), calls its closure, and restores the
    // previous value when the closure returns or unwinds (`Restore`, a guard local to
    // `enter`). Those scopes nest as calls do, so a non-null value read here was stored by an
    // `enter` frame still on this thread's stack (had it returned, we would read the value it
    // restored); its worker stays borrowed until that frame returns, which is after `f`
    // returns, as `f` runs deeper on the same stack. A nested `enter` inside `f` changes
    // `CURRENT`, not the worker behind `ptr`. The cell is thread-local: no other thread
    // reads it.
    // SAFETY: `ptr` is non-null, so it points at a worker borrowed by an `enter` frame below
    // this one on this thread's stack, alive until after `f` returns (argument above).
    let w = unsafe { &*ptr };
    f(Some(w))
}

/// Calls `f` with the worker of `shared` running on this thread, or `None`.
#[inline]
pub(crate) fn with_current<R>(shared: &Arc<Shared>, f: impl FnOnce(Option<&Worker>) -> R) -> R {
    with_current_id(runtime_id(shared), f)
}

/// The shared state of the runtime whose worker runs on this thread, if any.
pub(crate) fn current_shared() -> Option<Arc<Shared>> {
    let id = CURRENT.try_with(|c| c.id.get()).unwrap_or(0);
    if id == 0 {
        return None;
    }
    with_current_id(id, |w| w.map(|w| w.shared.clone()))
}

/// Schedules `runnable` on the worker of runtime `id` running on this thread, if any: a local
/// push (the LIFO slot for a wake, the back of the queue for a yield). Elsewhere, hands it
/// back.
#[inline]
fn schedule_local<R: Into<Runnable>>(id: usize, runnable: R, info: ScheduleInfo) -> Option<R> {
    let mut runnable = Some(runnable);
    with_current_id(id, |w| {
        // Take the runnable only when there is a worker to give it to.
        if let Some(w) = w {
            if let Some(r) = runnable.take() {
                w.schedule_local(r.into(), info.woken_while_running);
            }
        }
    });
    runnable
}

/// The schedule function of every `Send` task of a runtime (`WithInfo(schedule_task)`). It
/// captures nothing — so async-task takes no extra reference count around each wake-up, as it
/// does for a schedule closure with state — and finds the runtime through the task's header:
/// the registry of the worker loop it was spawned on links to it ([`RuntimeLink`]). On one
/// of the runtime's workers, a local push (an address compare finds it); elsewhere, the
/// injector of the runtime, if it still exists (else the runnable is dropped, and with it
/// the task's future).
pub(crate) fn schedule_task(runnable: async_task::Runnable<Header>, info: ScheduleInfo) {
    let Some(id) = runnable.metadata().registry.runtime.get().map(|l| l.id) else {
        // Not a worker loop's registry (`spawn_on` never makes such a task): its loop's.
        return crate::task::schedule_home(runnable);
    };
    if let Some(runnable) = schedule_local(id, runnable, info) {
        schedule_task_remote(runnable);
    }
}

/// The remote path of [`schedule_task`] (out of line: the common case is the local push).
#[cold]
#[inline(never)]
fn schedule_task_remote(runnable: async_task::Runnable<Header>) {
    let shared = runnable
        .metadata()
        .registry
        .runtime
        .get()
        .and_then(RuntimeLink::upgrade);
    match shared {
        Some(shared) => shared.schedule_remote(runnable.into()),
        // The runtime is gone (it dropped the task's queues already): dropping the runnable
        // drops the future, as the runtime's shutdown would have.
        None => drop(runnable),
    }
}

/// The schedule function of a task spawned with [`spawn_raw`](super::rt::spawn_raw) (the loom
/// models' bare tasks, which have no header), whose closure holds the runtime: as
/// [`schedule_task`].
pub(crate) fn schedule(shared: &Arc<Shared>, runnable: Runnable, info: ScheduleInfo) {
    if let Some(r) = schedule_local(runtime_id(shared), runnable, info) {
        shared.schedule_remote(r);
    }
}

/// One worker's thread-local state (see the module docs).
pub(crate) struct Worker {
    /// Its index in `shared.remotes`.
    pub(crate) index: usize,
    /// The runtime.
    pub(crate) shared: Arc<Shared>,
    /// The owner end of its local queue.
    local: Local<Runnable>,
    /// The task woken last by a task of this worker: runs right after the task that woke it
    /// (up to [`MAX_LIFO_IN_BATCH`] in a row after each batch item), else after the next batch
    /// item, or first in the next iteration.
    lifo: Cell<Option<Runnable>>,
    /// LIFO tasks still allowed to run after the current batch item (reset when a run of them
    /// ends, and by `fill`); `MAX_LIFO_IN_BATCH - lifo_budget` of them ran in the current run,
    /// and are counted in the metrics when it ends.
    lifo_budget: Cell<u32>,
    /// This worker is counted as searching in `shared.idle`.
    searching: Cell<bool>,
    /// This worker recorded itself as sleeping in `shared.idle` and has not yet woken.
    parked: Cell<bool>,
    /// State of the xorshift generator that picks the first victim of a steal.
    rng: Cell<u32>,
    /// The task registry of this worker's loop (`None` in the loom models, which have no
    /// loops).
    pub(crate) registry: Option<std::sync::Arc<crate::task::Registry>>,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("index", &self.index)
            .field("local", &self.local)
            .field("searching", &self.searching.get())
            .field("parked", &self.parked.get())
            .finish()
    }
}

/// Restores the previous current worker when [`Worker::enter`]'s call ends (returns or
/// unwinds).
struct Restore {
    /// The worker current before.
    worker: *const Worker,
    /// Its runtime id.
    id: usize,
}

impl Drop for Restore {
    fn drop(&mut self) {
        super::rt::leave_runtime();
        let _ = CURRENT.try_with(|c| {
            c.worker.set(self.worker);
            c.id.set(self.id);
        });
    }
}

impl Worker {
    /// Worker `index` of `shared`, owning `local`.
    pub(crate) fn new(
        index: usize,
        shared: Arc<Shared>,
        local: Local<Runnable>,
        registry: Option<std::sync::Arc<crate::task::Registry>>,
    ) -> Worker {
        Worker {
            index,
            shared,
            local,
            lifo: Cell::new(None),
            lifo_budget: Cell::new(MAX_LIFO_IN_BATCH),
            searching: Cell::new(false),
            parked: Cell::new(false),
            rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
            registry,
        }
    }

    /// Runs `f` with this worker current on this thread (local scheduling goes to it, and
    /// [`with_current`] finds it), then restores what was current before, also if `f` unwinds.
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let prev = CURRENT.with(|c| Restore {
            worker: c.worker.replace(self),
            id: c.id.replace(runtime_id(&self.shared)),
        });
        super::rt::enter_runtime();
        let out = f();
        drop(prev);
        out
    }

    /// This worker's counters.
    fn counters(&self) -> &WorkerCounters {
        &self.shared.remotes[self.index].counters
    }

    /// Counts a spawn made on this worker.
    pub(crate) fn count_spawn(&self) {
        bump(&self.counters().spawned, 1);
    }

    /// Schedules `runnable` on this worker: a yield goes to the back of the local queue, any
    /// other wake to the LIFO slot (its previous occupant to the back of the queue).
    pub(crate) fn schedule_local(&self, runnable: Runnable, is_yield: bool) {
        let pushed = if is_yield {
            Some(runnable)
        } else {
            self.lifo.replace(Some(runnable))
        };
        if let Some(r) = pushed {
            if self.local.push_back_or_overflow(r, &self.shared.inject) {
                bump(&self.counters().overflows, 1);
            }
            // Spread the queue to a sleeping worker, if any (cheap check first).
            if let Some(i) = self.shared.idle.worker_to_notify_hint() {
                self.shared.unpark(i);
            }
        }
    }

    /// A pseudo-random number below `n` (n > 0).
    fn rand(&self, n: usize) -> usize {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        (x as usize) % n
    }

    /// If this worker recorded itself as sleeping, records that it is awake again (searching if
    /// a notifier woke it).
    fn wake_up(&self) {
        if self.parked.replace(false) {
            let notified = self.shared.idle.transition_from_parked(self.index);
            self.searching.set(notified);
        }
    }

    /// Becomes a searcher (if allowed) and steals from other workers, then tries the injector.
    /// The stolen tasks but the returned one land in the local queue.
    fn search(&self) -> Option<Runnable> {
        if !self.searching.get() {
            if !self.shared.idle.transition_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let n = self.shared.remotes.len();
        let start = self.rand(n);
        for k in 0..n {
            let i = (start + k) % n;
            if i == self.index {
                continue;
            }
            if let Some(r) = self.shared.remotes[i].steal.steal_into(&self.local) {
                bump(&self.counters().steals, 1);
                return Some(r);
            }
        }
        self.shared.inject.pop()
    }

    /// Stops searching (work was found); wakes another worker if this was the last searcher.
    fn end_search(&self) {
        if self.searching.replace(false) && self.shared.idle.transition_from_searching() {
            self.shared.notify_parked();
        }
    }

    /// Drops every task queued on this worker (shutdown).
    pub(crate) fn drain(&self) {
        let lifo = self.lifo.take();
        drop(lifo);
        while let Some(r) = self.local.pop() {
            drop(r);
        }
    }
}

/// How many LIFO tasks a worker runs in a row after one item of its loop's batch, right after
/// their wakers (tokio's `MAX_LIFO_POLLS_PER_TICK`, which tokio also counts per task taken
/// from the queue): enough for a ping-pong pair or a spawn chain to go on without waiting for
/// the rest of the batch, few enough that the queue behind them is not starved (the next
/// batch item runs after at most this many; a task left in the slot runs after it, or goes to
/// the back of the queue if that item wakes another).
const MAX_LIFO_IN_BATCH: u32 = 3;

impl WorkSource for Worker {
    fn next_in_batch(&self) -> Option<Runnable> {
        let left = self.lifo_budget.get();
        let r = if left == 0 { None } else { self.lifo.take() };
        match r {
            Some(r) => {
                self.lifo_budget.set(left - 1);
                Some(r)
            }
            None => {
                // The loop's run of LIFO tasks after this batch item ends here (the loop asks
                // until it gets `None`): count its polls at once, and give the next batch item
                // a fresh budget.
                if left != MAX_LIFO_IN_BATCH {
                    bump(&self.counters().polls, u64::from(MAX_LIFO_IN_BATCH - left));
                    self.lifo_budget.set(MAX_LIFO_IN_BATCH);
                }
                None
            }
        }
    }

    fn fill(&self, push: &mut dyn FnMut(Runnable), budget: usize) -> bool {
        self.wake_up();
        self.lifo_budget.set(MAX_LIFO_IN_BATCH);
        let mut n = 0;
        // Fairness: one task from the injector per iteration, when there is one.
        if let Some(r) = self.shared.inject.pop() {
            push(r);
            n += 1;
        }
        if let Some(r) = self.lifo.take() {
            push(r);
            n += 1;
        }
        while n < budget {
            match self.local.pop() {
                Some(r) => {
                    push(r);
                    n += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            let workers = self.shared.remotes.len();
            let want = (self.shared.inject.len() / workers + 1).min(budget);
            n += self.shared.inject.pop_batch(want, &mut *push);
            if n == 0 {
                if let Some(r) = self.search() {
                    push(r);
                    n += 1;
                    while n < budget {
                        match self.local.pop() {
                            Some(r) => {
                                push(r);
                                n += 1;
                            }
                            None => break,
                        }
                    }
                }
            }
        }
        if n > 0 {
            self.end_search();
            bump(&self.counters().polls, n as u64);
        }
        // Tasks that just ran may wake others into our queues: ask again before blocking.
        n > 0
    }

    fn before_park(&self) -> bool {
        self.wake_up();
        if self.lifo_is_some() || !self.local.is_empty() || !self.shared.inject.is_empty() {
            return false;
        }
        if let Some(r) = self.search() {
            self.lifo.set(Some(r));
            return false;
        }
        let was_searching = self.searching.replace(false);
        let last = self
            .shared
            .idle
            .transition_to_parked(self.index, was_searching);
        self.parked.set(true);
        bump(&self.counters().parks, 1);
        if last && self.shared.work_pending() {
            // May pick this very worker: its loop then polls once more instead of blocking.
            self.shared.notify_parked();
        }
        true
    }

    fn after_unpark(&self) {
        self.wake_up();
    }
}

impl Worker {
    /// Whether the LIFO slot holds a task.
    fn lifo_is_some(&self) -> bool {
        let r = self.lifo.take();
        let some = r.is_some();
        self.lifo.set(r);
        some
    }
}
