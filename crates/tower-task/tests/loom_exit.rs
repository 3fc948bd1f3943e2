//! Loom model of the workers' exit rendezvous (`runtime/exit.rs`): a worker that waits before
//! closing its loop returns only once every started worker has stopped polling (so no task
//! taken out of a closing registry can be polled again elsewhere), and the rendezvous never
//! deadlocks — including when the runtime is dropped on one of its own workers, which stops
//! that worker on its behalf.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use tower_task::runtime::model::ExitModel;

/// `n` started workers on threads; each stops (after bumping `done`), then waits for all; on
/// return every worker must have stopped.
fn workers_stop_then_wait(n: usize) {
    loom::model(move || {
        let exit = Arc::new(ExitModel::new(n));
        for i in 0..n {
            exit.started(i);
        }
        let done = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let (exit, done) = (exit.clone(), done.clone());
                thread::spawn(move || {
                    done.fetch_add(1, Ordering::Relaxed);
                    exit.stopped(i);
                    exit.wait_all_stopped();
                    assert_eq!(
                        done.load(Ordering::Relaxed),
                        n,
                        "returned while a worker polls"
                    );
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn every_worker_waits_for_all_to_stop() {
    workers_stop_then_wait(2);
}

#[test]
fn a_shutdown_on_a_worker_stops_it_for_the_others() {
    loom::model(|| {
        let exit = Arc::new(ExitModel::new(2));
        exit.started(0);
        exit.started(1);
        let polled = Arc::new(AtomicUsize::new(0));
        // Worker 1 drops the runtime from inside a task: the shutdown marks worker 1 stopped
        // (it cannot wait for itself) while worker 0 finishes its batch and waits.
        let (e0, p0) = (exit.clone(), polled.clone());
        let w0 = thread::spawn(move || {
            p0.fetch_add(1, Ordering::Relaxed);
            e0.stopped(0);
            e0.wait_all_stopped();
        });
        let e1 = exit.clone();
        let w1 = thread::spawn(move || {
            e1.stopped(1); // the shutdown, on worker 1
            e1.wait_all_stopped(); // worker 1's own loop exit, later
        });
        w0.join().unwrap();
        w1.join().unwrap();
        assert_eq!(polled.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn a_worker_that_never_started_is_not_waited_for() {
    loom::model(|| {
        let exit = Arc::new(ExitModel::new(2));
        exit.started(0);
        let e = exit.clone();
        let w0 = thread::spawn(move || {
            e.stopped(0);
            e.wait_all_stopped();
        });
        w0.join().unwrap();
    });
}
