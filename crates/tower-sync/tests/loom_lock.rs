//! Loom model of `Lock` (and the fair semaphore under it): mutual exclusion, a queued waiter
//! dropped as the lock is handed to it, and a newcomer racing the granted waiter.
#![cfg(loom)]

mod common;

use std::sync::Arc;

use common::Probe;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use tower_sync::Lock;

// Two threads increment under the lock: no update is lost, the lock ends free.
#[test]
fn mutual_exclusion() {
    loom::model(|| {
        let lock = Arc::new(Lock::new(0));
        let l = lock.clone();
        let t = thread::spawn(move || *loom::future::block_on(l.lock()) += 1);
        *loom::future::block_on(lock.lock()) += 1;
        t.join().unwrap();
        assert_eq!(*lock.try_lock().unwrap(), 2);
    });
}

// A queued waiter is dropped while the holder unlocks: whichever comes first, the lock must
// end free (a hand-off to the dropped waiter is passed back).
#[test]
fn waiter_dropped_as_it_is_handed_the_lock() {
    loom::model(|| {
        let lock = Arc::new(Lock::new(()));
        let held = lock.try_lock_arc().unwrap();
        let mut waiter = Probe::new(lock.lock_arc());
        waiter.pending();
        let t1 = thread::spawn(move || drop(held));
        let t2 = thread::spawn(move || drop(waiter));
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(!lock.locked());
        assert!(lock.try_lock().is_some());
    });
}

// Two queued waiters; the first is dropped as the lock is released: the second is woken.
#[test]
fn next_waiter_woken_when_first_is_dropped() {
    loom::model(|| {
        let lock = Arc::new(Lock::new(()));
        let held = lock.try_lock_arc().unwrap();
        let mut a = Probe::new(lock.lock_arc());
        let mut b = Probe::new(lock.lock_arc());
        a.pending();
        b.pending();
        let t1 = thread::spawn(move || drop(held));
        let t2 = thread::spawn(move || drop(a));
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(b.woken());
        drop(b.ready());
    });
}

// The lock was handed to a queued waiter; a newcomer's try_lock on another thread races that
// waiter's resumption. The newcomer can only get the lock after the waiter has run and
// unlocked (no barging past a granted waiter).
#[test]
fn newcomer_cannot_barge_past_the_granted_waiter() {
    loom::model(|| {
        let lock = Arc::new(Lock::new(()));
        let held = lock.try_lock_arc().unwrap();
        let mut a = Probe::new(lock.lock_arc());
        a.pending();
        drop(held);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let t1 = thread::spawn(move || {
            let guard = a.ready();
            r.store(true, Ordering::Relaxed);
            drop(guard);
        });
        let (l, r) = (lock.clone(), ran.clone());
        let t2 = thread::spawn(move || {
            if let Some(guard) = l.try_lock() {
                assert!(
                    r.load(Ordering::Relaxed),
                    "took the lock before the granted waiter"
                );
                drop(guard);
            }
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(!lock.locked());
    });
}
