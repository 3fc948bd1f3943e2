//! The worker harness shared by the runtime's loom models: a worker's "reactor" (the loop's
//! park word plus an eventfd stand-in) and the loop's iteration structure around a work source;
//! and ([`task`]) a task around a real header, for the header's models.
#![allow(dead_code)]

pub(crate) mod task;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use tower_loop::park::ParkState;
use tower_task::runtime::model::{ModelWorker, Scheduler, Seed};

/// A worker's "reactor": the loop's park word plus a notification flag (the eventfd).
#[derive(Default)]
pub(crate) struct Reactor {
    pub(crate) park: ParkState,
    notified: Mutex<bool>,
    cv: Condvar,
}

impl Reactor {
    /// What `LoopHandle::wake` does: a "syscall" only if the loop is parked.
    pub(crate) fn wake(&self) {
        self.park.notify(|| {
            *self.notified.lock().unwrap() = true;
            self.cv.notify_one();
        });
    }

    /// Blocks until the "eventfd" is signalled, then consumes it.
    pub(crate) fn block(&self) {
        let mut n = self.notified.lock().unwrap();
        while !*n {
            n = self.cv.wait(n).unwrap();
        }
        *n = false;
    }
}

/// A scheduler of `n` workers, each with a [`Reactor`] that its unpark wakes.
pub(crate) fn workers(n: usize) -> (Scheduler, Vec<Seed>, Arc<Vec<Arc<Reactor>>>) {
    let (sched, seeds) = Scheduler::new(n);
    let reactors: Arc<Vec<Arc<Reactor>>> =
        Arc::new((0..n).map(|_| Arc::new(Reactor::default())).collect());
    for (i, r) in reactors.iter().enumerate() {
        let r = r.clone();
        sched.set_unpark(i, move || r.wake());
    }
    (sched, seeds, reactors)
}

/// The worker loop's iteration structure (`EventLoop::run_once` with a work source), until
/// `done` reaches `total`.
pub(crate) fn run_worker(w: ModelWorker, reactor: &Reactor, done: &AtomicUsize, total: usize) {
    let mut more = false;
    while done.load(Ordering::SeqCst) < total {
        // As the loop does: every `before_park` that says yes is answered by `after_unpark`,
        // whether the loop blocked or a pending wake-up let it go on at once.
        if !more && w.before_park() {
            if reactor.park.try_park() {
                reactor.block();
                reactor.park.unpark();
            }
            w.after_unpark();
        }
        reactor.park.begin_collect();
        more = w.run_once();
    }
    drop(w);
}
