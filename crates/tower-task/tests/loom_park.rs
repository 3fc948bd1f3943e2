//! Loom model of sleeping and waking workers (the `idle` protocol driven by the real worker
//! code, over the loop's park/notify word): no lost wake-up — a task pushed while the last
//! searching worker goes to sleep is still run.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Condvar, Mutex};
use loom::thread;
use tower_task::runtime::model::Scheduler;

mod loom_common;
use loom_common::{Reactor, run_worker, workers};

/// `n` workers on threads, plus what `spawner` spawns from the main thread; every task bumps
/// `done` and the last one wakes every worker so they exit.
fn model(
    n: usize,
    total: usize,
    spawner: impl Fn(&Scheduler, &Arc<AtomicUsize>, &Arc<Vec<Arc<Reactor>>>),
) {
    let (sched, seeds, reactors) = workers(n);
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

#[test]
fn io_wakes_during_a_park_reach_a_sleeping_worker() {
    // Worker 0's blocking poll returns with two wakes (modelled as spawns on it, the same
    // `schedule_local`), while worker 1 may be asleep: `b` to the local queue, `a` to the LIFO
    // slot. Worker 0's loop takes one task per iteration here (a fill budget of 1 stands for a
    // queue longer than the loop's batch), and `a` blocks its thread until `b` ran, so worker
    // 1 must be woken to steal `b`: the notification `schedule_local` defers during the poll
    // must come in `after_unpark` (without it, loom reports the deadlock), and not during
    // the poll, where worker 0 could pick itself.
    loom::model(|| {
        let (sched, seeds, reactors) = workers(2);
        let done = Arc::new(AtomicUsize::new(0));
        let mut seeds = seeds.into_iter();
        let (seed0, seed1) = (seeds.next().unwrap(), seeds.next().unwrap());
        // Worker 1 records itself asleep before worker 0 does anything (a worker about to
        // park is still counted awake, and no one notifies it: it checks the queues itself,
        // or a searcher does).
        let asleep = Arc::new((Mutex::new(false), Condvar::new()));
        let t1 = {
            let (reactor, done, asleep) = (reactors[1].clone(), done.clone(), asleep.clone());
            thread::spawn(move || {
                let w1 = seed1.start();
                assert!(w1.before_park());
                *asleep.0.lock().unwrap() = true;
                asleep.1.notify_all();
                if reactor.park.try_park() {
                    reactor.block();
                    reactor.park.unpark();
                }
                w1.after_unpark();
                reactor.park.begin_collect();
                run_worker(w1, &reactor, &done, 2);
            })
        };
        let mut a = asleep.0.lock().unwrap();
        while !*a {
            a = asleep.1.wait(a).unwrap();
        }
        drop(a);
        let w0 = seed0.start();
        let reactor0 = reactors[0].clone();
        assert!(w0.before_park());
        let parked = reactor0.park.try_park();
        let b_ran = Arc::new((Mutex::new(false), Condvar::new()));
        w0.dispatch(|| {
            let (done_b, reactors_b, flag) = (done.clone(), reactors.clone(), b_ran.clone());
            sched.spawn(async move {
                *flag.0.lock().unwrap() = true;
                flag.1.notify_all();
                finish(&done_b, 2, &reactors_b);
            });
            let (done_a, reactors_a, flag) = (done.clone(), reactors.clone(), b_ran.clone());
            sched.spawn(async move {
                // Blocks its worker until `b` ran (elsewhere, then).
                let mut ran = flag.0.lock().unwrap();
                while !*ran {
                    ran = flag.1.wait(ran).unwrap();
                }
                drop(ran);
                finish(&done_a, 2, &reactors_a);
            });
        });
        // Its own wakes never picked worker 0 itself as the sleeper to notify (it is still
        // recorded asleep during the poll: before, it could, and wrote its own eventfd).
        assert_eq!(sched.metrics().workers[0].unparks, 0);
        if parked {
            reactor0.park.unpark();
        }
        w0.after_unpark();
        w0.set_fill_budget(1);
        reactor0.park.begin_collect();
        run_worker(w0, &reactor0, &done, 2);
        t1.join().unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 2);
        sched.shutdown();
    });
}
