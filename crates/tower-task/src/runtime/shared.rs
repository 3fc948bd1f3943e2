//! The state of a runtime that its workers and handles share ([`Shared`]): what other threads
//! know of each worker (its stealer, its wake-up, its counters), the injector, the idle
//! bookkeeping, the shutdown flag, the workers' task registries.
//!
//! # Who may touch which field
//!
//! [`Shared`] is reached by every thread through an `Arc`: the stealers, the injector and the
//! idle bookkeeping are thread-safe; `unpark[i]` is set once by worker `i` at start-up, before
//! the runtime is handed out, and only read afterwards. What only a worker's own thread touches
//! is in its [`Worker`](super::worker::Worker).

use std::fmt;
use std::sync::OnceLock;

use tower_loop::AnyRunnable as Runnable;

use super::exit::Exit;
use super::idle::Idle;
use super::inject::Inject;
use super::metrics::WorkerCounters;
use super::queue::{Local, Stealer};
use crate::loom::{Arc, AtomicBool, Ordering, StatU64};

/// How a worker is woken from another thread.
pub(crate) enum Unpark {
    /// The worker's event loop: `LoopHandle::wake` (a syscall only if it is parked).
    Loop(tower_loop::LoopHandle),
    /// A custom wake-up (the loom models' parkers).
    #[cfg(loom)]
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
    pub(crate) exit: Exit,
    /// Tasks spawned from outside the workers (written by those spawners: own lines).
    pub(crate) spawned_remote: CachePadded<StatU64>,
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
            exit: Exit::new(n),
            spawned_remote: CachePadded(StatU64::new(0)),
            registries: (0..n).map(|_| OnceLock::new()).collect(),
        });
        (shared, locals)
    }

    /// Wakes worker `i` (counted in its metrics).
    #[inline]
    pub(crate) fn unpark(&self, i: usize) {
        let remote = &self.remotes[i];
        remote.counters.unparks.fetch_add(1, Ordering::Relaxed);
        match remote.unpark.get() {
            Some(Unpark::Loop(handle)) => handle.wake(),
            #[cfg(loom)]
            Some(Unpark::Custom(f)) => f(),
            None => {}
        }
    }

    /// After publishing shared work: wakes a sleeper if no one is searching.
    #[inline]
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
    #[inline]
    pub(crate) fn work_pending(&self) -> bool {
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

/// The identity of a runtime: its shared state's address.
#[inline]
pub(crate) fn runtime_id(shared: &Arc<Shared>) -> usize {
    Arc::as_ptr(shared) as usize
}
