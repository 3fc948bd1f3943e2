//! Loom model of `Semaphore`/`BoundedSemaphore`: permits are never lost or duplicated when
//! releases race acquires and cancellations, nor left free while a newcomer waits behind a
//! granted waiter.
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

// A waiter granted a permit takes it while another permit is released: whichever comes
// first, the spare permit ends free and the fast path is open again (the WAITERS bit is
// cleared by whoever leaves the list idle).
#[test]
fn granted_waiter_takes_its_permit_as_another_is_released() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let mut a = Probe::new(sem.acquire_arc());
        a.pending();
        sem.release();
        let s = sem.clone();
        let t1 = thread::spawn(move || s.release());
        let t2 = thread::spawn(move || a.ready().forget());
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        assert!(!sem.locked());
        assert!(sem.try_acquire().is_some());
    });
}

// A spare permit waits for the granted waiter; a newcomer queued behind it is dropped as the
// granted waiter resumes and passes the spare permit on: the permit ends free, not lost with
// the newcomer.
#[test]
fn spare_permit_passed_on_as_the_newcomer_is_dropped() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let mut a = Probe::new(sem.acquire_arc());
        a.pending();
        sem.release();
        sem.release();
        let mut n = Probe::new(sem.acquire_arc());
        n.pending();
        let t1 = thread::spawn(move || a.ready().forget());
        let t2 = thread::spawn(move || drop(n));
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        assert!(!sem.locked());
    });
}
