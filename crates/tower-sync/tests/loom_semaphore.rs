//! Loom model of `Semaphore`/`BoundedSemaphore`: permits are never lost or duplicated when
//! releases race acquires and cancellations.
#![cfg(loom)]

mod common;

use std::sync::Arc;

use common::Probe;
use loom::thread;
use tower_sync::{BoundedSemaphore, Semaphore};

// A release races a queued acquirer being dropped: the permit ends up free.
#[test]
fn release_races_cancelled_acquire() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let mut w = Probe::new(sem.acquire_arc());
        w.pending();
        let s = sem.clone();
        let t = thread::spawn(move || s.release());
        drop(w);
        t.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

// The fast paths race: a try_acquire and a release on another thread never lose the permit.
#[test]
fn fast_paths_race() {
    loom::model(|| {
        let sem = Arc::new(BoundedSemaphore::new(1));
        sem.try_acquire().unwrap().forget();
        let (s1, s2) = (sem.clone(), sem.clone());
        let releaser = thread::spawn(move || s1.release().unwrap());
        let taker = thread::spawn(move || s2.try_acquire().map(|g| g.forget()).is_some());
        releaser.join().unwrap();
        let got = taker.join().unwrap();
        assert_eq!(sem.available_permits(), if got { 0 } else { 1 });
    });
}

// Two threads acquire through the queue with one permit: both finish.
#[test]
fn contended_acquire() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let s = sem.clone();
        let t = thread::spawn(move || drop(loom::future::block_on(s.acquire())));
        drop(loom::future::block_on(sem.acquire()));
        t.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}
