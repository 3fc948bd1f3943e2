//! The scheduler without threads or event loops, for the loom models in `tests/loom_*.rs`: the
//! same `Worker` code the runtime installs on each loop, driven by hand, with a custom
//! wake-up in place of the loop's. Not a stable API.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use async_task::WithInfo;
use tower_loop::AnyRunnable as Runnable;
use tower_loop::{FILL_BUDGET, WorkSource};

use super::context::with_current;
use super::handle::RuntimeHandle;
use super::metrics::RuntimeMetrics;
use super::queue::Local;
use super::schedule::{schedule, schedule_first};
use super::shared::{Shared, Unpark};
use super::worker::Worker;
use crate::loom::Arc;

/// A runtime's shared scheduler state, without threads.
#[derive(Clone, Debug)]
pub struct Scheduler {
    /// The shared state.
    shared: Arc<Shared>,
}

/// What a model thread needs to become worker `index`.
pub struct Seed {
    /// The worker's index.
    index: usize,
    /// The owner end of its local queue.
    local: Local<Runnable>,
    /// The scheduler.
    shared: Arc<Shared>,
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seed").field("index", &self.index).finish()
    }
}

impl Scheduler {
    /// A scheduler for `n` workers, and the seeds to start them with.
    pub fn new(n: usize) -> (Scheduler, Vec<Seed>) {
        let (shared, locals) = Shared::new(n);
        let seeds = locals
            .into_iter()
            .enumerate()
            .map(|(index, local)| Seed {
                index,
                local,
                shared: shared.clone(),
            })
            .collect();
        (Scheduler { shared }, seeds)
    }

    /// Installs worker `i`'s wake-up (before any thread may need it).
    pub fn set_unpark(&self, i: usize, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.shared.remotes[i]
            .unpark
            .set(Unpark::Custom(Box::new(f)));
    }

    /// Spawns a detached `Send` task, scheduled as [`RuntimeHandle::spawn`] schedules (a bare
    /// `async_task` task: no task header, no loop).
    ///
    /// The task is registered nowhere: a real runtime task is registered in its worker loop's
    /// task registry, whose close drops it at shutdown even if it is pending; a model task is
    /// dropped at shutdown only if it is queued (a worker's queue when its [`ModelWorker`]
    /// drops, the injector at [`shutdown`](Self::shutdown)). So a model leaves no task pending
    /// (loom would report its leak).
    pub fn spawn<F>(&self, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_raw(&self.shared, future);
    }

    /// A handle to this scheduler.
    pub fn handle(&self) -> RuntimeHandle {
        RuntimeHandle::new(self.shared.clone())
    }

    /// Its counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle().metrics()
    }

    /// Begins shutdown and drops what the injector holds.
    pub fn shutdown(&self) {
        self.shared.begin_shutdown();
        self.shared.finish_shutdown();
    }
}

impl Seed {
    /// Becomes the worker on the calling thread: inside each of its [`ModelWorker`]'s calls,
    /// as inside a real worker's loop, local scheduling goes to it.
    pub fn start(self) -> ModelWorker {
        let worker = Rc::new(Worker::new(self.index, self.shared, self.local, None));
        ModelWorker {
            worker,
            budget: Cell::new(FILL_BUDGET),
        }
    }
}

/// A worker driven by hand: what its loop would call, in the loop's order.
pub struct ModelWorker {
    /// The worker (current on this thread inside each call, as a real worker is inside its
    /// loop's `run_forever`).
    worker: Rc<Worker>,
    /// The budget its loop passes to `fill` (the loop's [`FILL_BUDGET`] unless a model sets
    /// it lower, to leave work in the queue as a longer queue would).
    budget: Cell<usize>,
}

impl fmt::Debug for ModelWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelWorker")
            .field("worker", &self.worker)
            .finish()
    }
}

impl ModelWorker {
    /// One loop iteration: asks the worker for runnables and runs them, each followed by the
    /// LIFO tasks the worker hands out in the batch. Returns what `fill` returned (whether to
    /// ask again before parking).
    pub fn run_once(&self) -> bool {
        let w = &*self.worker;
        w.enter(|| {
            let mut batch = Vec::new();
            let more = w.fill(&mut |r| batch.push(r), self.budget.get());
            for r in batch {
                r.run();
                while let Some(r) = w.next_in_batch() {
                    r.run();
                }
            }
            more
        })
    }

    /// Sets the budget of the worker's later `fill`s (see [`run_once`](Self::run_once)): a
    /// model with a few tasks sets it low to model a queue longer than the loop takes in one
    /// iteration.
    pub fn set_fill_budget(&self, budget: usize) {
        self.budget.set(budget.max(1));
    }

    /// The loop is about to block: whether the worker lets it.
    pub fn before_park(&self) -> bool {
        self.worker.enter(|| self.worker.before_park())
    }

    /// Runs `f` with the worker current, as the loop runs the wakers of a poll's events
    /// (between [`before_park`](Self::before_park) and [`after_unpark`](Self::after_unpark)
    /// when the poll is the one the loop blocked in): what `f` wakes or spawns is scheduled on
    /// this worker.
    pub fn dispatch(&self, f: impl FnOnce()) {
        self.worker.enter(f);
    }

    /// The loop woke from blocking.
    pub fn after_unpark(&self) {
        self.worker.enter(|| self.worker.after_unpark());
    }
}

impl Drop for ModelWorker {
    fn drop(&mut self) {
        self.worker.drain();
    }
}

/// The workers' exit rendezvous (`runtime/exit.rs`) alone, for `tests/loom_exit.rs`: a worker
/// closes its loop (and so drops the tasks of its registry) only once no worker polls.
#[derive(Debug)]
pub struct ExitModel(super::exit::Exit);

impl ExitModel {
    /// The rendezvous of `n` workers, none started.
    pub fn new(n: usize) -> ExitModel {
        ExitModel(super::exit::Exit::new(n))
    }

    /// Worker `i` may poll tasks from now on.
    pub fn started(&self, i: usize) {
        self.0.started(i);
    }

    /// Worker `i` polls no task any more.
    pub fn stopped(&self, i: usize) {
        self.0.stopped(i);
    }

    /// Blocks until no worker polls.
    pub fn wait_all_stopped(&self) {
        self.0.wait_all_stopped();
    }
}

/// The scheduler alone, for the loom models: a bare `async_task` task (no header, no loop),
/// detached, scheduled as [`spawn_on`](super::spawn::spawn_on) schedules (its schedule function holds the runtime,
/// having no header to find it through).
pub(crate) fn spawn_raw<F>(shared: &Arc<Shared>, future: F)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let s = shared.clone();
    let (runnable, task) = async_task::spawn(
        future,
        WithInfo(move |r: async_task::Runnable, info| schedule(&s, r.into(), info)),
    );
    task.detach();
    with_current(shared, |w| schedule_first(shared, w, runnable.into()));
}
