//! Loom model of sleeping and waking workers (the `idle` protocol driven by the real worker
//! code, over the loop's park/notify word): no lost wake-up — a task pushed while the last
//! searching worker goes to sleep is still run.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use tower_task::runtime::model::Scheduler;

mod loom_common;
use loom_common::{Reactor, run_worker};

/// `n` workers on threads, plus what `spawner` spawns from the main thread; every task bumps
/// `done` and the last one wakes every worker so they exit.
fn model(
    n: usize,
    total: usize,
    spawner: impl Fn(&Scheduler, &Arc<AtomicUsize>, &Arc<Vec<Arc<Reactor>>>),
) {
    let (sched, seeds) = Scheduler::new(n);
    let reactors: Arc<Vec<Arc<Reactor>>> =
        Arc::new((0..n).map(|_| Arc::new(Reactor::default())).collect());
    for (i, r) in reactors.iter().enumerate() {
        let r = r.clone();
        sched.set_unpark(i, move || r.wake());
    }
    let done = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = seeds
        .into_iter()
        .enumerate()
        .map(|(i, seed)| {
            let (reactor, done) = (reactors[i].clone(), done.clone());
            thread::spawn(move || run_worker(seed.start(), &reactor, &done, total))
        })
        .collect();
    spawner(&sched, &done, &reactors);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), total);
    sched.shutdown();
}

/// A task body: counts itself done; the last one wakes every worker so the model ends.
fn finish(done: &AtomicUsize, total: usize, reactors: &[Arc<Reactor>]) {
    if done.fetch_add(1, Ordering::SeqCst) + 1 == total {
        for r in reactors {
            r.wake();
        }
    }
}

#[test]
fn remote_spawn_reaches_a_sleeping_worker() {
    // One worker that may be anywhere between searching and blocked when the task arrives.
    loom::model(|| {
        model(1, 1, |sched, done, reactors| {
            let (done, reactors) = (done.clone(), reactors.clone());
            sched.spawn(async move { finish(&done, 1, &reactors) });
        });
    });
}

#[test]
fn remote_spawn_while_the_last_searcher_parks() {
    // Two workers both going to sleep (each the last searcher in turn) while a task is pushed.
    loom::model(|| {
        model(2, 1, |sched, done, reactors| {
            let (done, reactors) = (done.clone(), reactors.clone());
            sched.spawn(async move { finish(&done, 1, &reactors) });
        });
    });
}
