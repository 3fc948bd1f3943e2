//! `RwLock`: shared readers, exclusive writers, FIFO fairness and cancellation.

mod common;

use std::sync::Arc;

use common::Probe;
use tower_sync::RwLock;

// Readers share the lock; a writer waits for them.
#[test]
fn readers_share_and_writer_waits() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let r2 = lock.try_read().unwrap();
    let mut w = Probe::new(lock.write());
    w.pending();
    drop(r1);
    assert!(!w.woken());
    drop(r2);
    assert!(w.woken());
    *w.ready() += 1;
    assert_eq!(*lock.try_read().unwrap(), 1);
}

// A queued writer holds back later readers (no writer starvation).
#[test]
fn queued_writer_blocks_later_readers() {
    let lock = RwLock::new(());
    let r = lock.try_read().unwrap();
    let mut w = Probe::new(lock.write());
    w.pending();
    assert!(lock.try_read().is_none());
    let mut r2 = Probe::new(lock.read());
    r2.pending();
    drop(r);
    let g = w.ready();
    r2.pending();
    drop(g);
    assert!(r2.woken());
    let _ = r2.ready();
}

// Consecutive queued readers are admitted together when a writer leaves.
#[test]
fn queued_readers_are_admitted_together() {
    let lock = RwLock::new(());
    let w = lock.try_write().unwrap();
    let mut a = Probe::new(lock.read());
    let mut b = Probe::new(lock.read());
    a.pending();
    b.pending();
    drop(w);
    assert!(a.woken() && b.woken());
    let (_a, _b) = (a.ready(), b.ready());
}

// Cancelling a queued writer lets the readers behind it in (lock-step with the reader held).
#[test]
fn cancelled_writer_lets_readers_behind_it_in() {
    let lock = RwLock::new(());
    let r = lock.try_read().unwrap();
    let mut w = Probe::new(lock.write());
    let mut r2 = Probe::new(lock.read());
    w.pending();
    r2.pending();
    drop(w);
    assert!(
        r2.woken(),
        "readers stayed blocked behind a writer that is gone"
    );
    let _g = r2.ready();
    drop(r);
}

// A writer granted the lock and cancelled before running passes it on.
#[test]
fn cancelled_granted_writer_passes_the_lock_on() {
    let lock = RwLock::new(());
    let r = lock.try_read().unwrap();
    let mut w1 = Probe::new(lock.write());
    let mut w2 = Probe::new(lock.write());
    w1.pending();
    w2.pending();
    drop(r);
    assert!(w1.woken());
    drop(w1);
    assert!(w2.woken());
    let _g = w2.ready();
}

// Arc guards outlive the borrow; blocking forms work from threads.
#[test]
fn arc_guards_and_blocking_forms() {
    let lock = Arc::new(RwLock::new(1));
    let g = Probe::new(lock.write_arc()).ready();
    let l = lock.clone();
    let t = std::thread::spawn(move || *l.read_blocking());
    drop(g);
    assert_eq!(t.join().unwrap(), 1);
    let r = Probe::new(lock.read_arc()).ready();
    assert_eq!(*r, 1);
}
