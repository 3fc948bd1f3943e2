//! Loom model of the hand-offs between the injector, the LIFO slot, the local queue and a
//! stealing worker: every task runs exactly once, none is lost.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use tower_task::runtime::RuntimeHandle;

mod loom_common;
use loom_common::{Reactor, run_worker, workers};

/// Counts a task done; the last one wakes every worker so the model ends.
#[derive(Clone)]
struct Done {
    count: Arc<AtomicUsize>,
    runs: Arc<Vec<AtomicUsize>>,
    total: usize,
    reactors: Arc<Vec<Arc<Reactor>>>,
}

impl Done {
    fn ran(&self, task: usize) {
        self.runs[task].fetch_add(1, Ordering::SeqCst);
        if self.count.fetch_add(1, Ordering::SeqCst) + 1 == self.total {
            for r in self.reactors.iter() {
                r.wake();
            }
        }
    }
}

#[test]
fn lifo_and_local_queue_hand_off_to_a_stealer() {
    // Worker 0 runs task 0 (from the injector), which spawns tasks 1 and 2 locally: 1 goes to
    // the LIFO slot, then to the queue when 2 takes the slot; worker 1 may steal 1 meanwhile.
    loom::model(|| {
        let total = 3;
        let (sched, seeds, reactors) = workers(2);
        let done = Done {
            count: Arc::new(AtomicUsize::new(0)),
            runs: Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect()),
            total,
            reactors: reactors.clone(),
        };
        let threads: Vec<_> = seeds
            .into_iter()
            .enumerate()
            .map(|(i, seed)| {
                let (reactor, count) = (reactors[i].clone(), done.count.clone());
                thread::spawn(move || run_worker(seed.start(), &reactor, &count, total))
            })
            .collect();
        let d = done.clone();
        let inner = sched.clone();
        sched.spawn(async move {
            // On a worker: the runtime is current, and spawns are local pushes.
            assert!(RuntimeHandle::current().is_ok());
            let (d1, d2) = (d.clone(), d.clone());
            inner.spawn(async move { d1.ran(1) });
            inner.spawn(async move { d2.ran(2) });
            d.ran(0);
        });
        for t in threads {
            t.join().unwrap();
        }
        for r in done.runs.iter() {
            assert_eq!(r.load(Ordering::SeqCst), 1);
        }
        sched.shutdown();
    });
}
