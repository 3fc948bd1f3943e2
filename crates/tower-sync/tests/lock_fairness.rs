//! `Lock`: FIFO order and cancellation at every point (CPython test_locks.LockTests).

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use common::{Executor, Probe, yield_now};
use tower_sync::Lock;

// LockTests.test_acquire: three tasks queue on a held lock and get it in arrival order.
#[test]
fn waiters_get_the_lock_in_arrival_order() {
    let ex = Executor::new();
    let lock = Rc::new(Lock::new(()));
    let order = Rc::new(RefCell::new(Vec::new()));
    let held = lock.try_lock().unwrap();
    let tasks: Vec<_> = (1..=3)
        .map(|i| {
            let (lock, order) = (lock.clone(), order.clone());
            ex.spawn(async move {
                let _g = lock.lock().await;
                order.borrow_mut().push(i);
                yield_now().await;
            })
        })
        .collect();
    ex.run();
    assert!(order.borrow().is_empty());
    drop(held);
    for t in tasks {
        ex.block_on(t);
    }
    assert_eq!(*order.borrow(), [1, 2, 3]);
}

// LockTests.test_acquire (no barging): while waiters are queued, try_lock fails even when the
// holder has just released (the lock was handed to the oldest waiter).
#[test]
fn release_hands_the_lock_to_the_oldest_waiter() {
    let lock = Lock::new(());
    let held = lock.try_lock().unwrap();
    let mut a = Probe::new(lock.lock());
    a.pending();
    drop(held);
    assert!(a.woken());
    assert!(
        lock.try_lock().is_none(),
        "a newcomer barged past the queue"
    );
    let _g = a.ready();
}

// LockTests.test_acquire_cancel: a waiter dropped while queued does not get (or keep) the lock.
#[test]
fn cancelled_waiter_leaves_the_queue() {
    let lock = Lock::new(());
    let held = lock.try_lock().unwrap();
    let mut a = Probe::new(lock.lock());
    a.pending();
    drop(a);
    drop(held);
    assert!(!lock.locked());
    assert!(lock.try_lock().is_some());
}

// LockTests.test_cancel_race: with A holding and B, C queued, cancelling B lets C have the
// lock when A releases.
#[test]
fn cancelling_a_middle_waiter_keeps_the_order() {
    let lock = Lock::new(());
    let held = lock.try_lock().unwrap();
    let mut b = Probe::new(lock.lock());
    let mut c = Probe::new(lock.lock());
    b.pending();
    c.pending();
    drop(b);
    drop(held);
    assert!(c.woken());
    let _g = c.ready();
}

// LockTests.test_cancel_release_race / test_finished_waiter_cancelled: the lock is released
// to B, and B is cancelled before it runs: C must get the lock, not lose it.
#[test]
fn cancelled_after_wakeup_passes_the_lock_on() {
    let lock = Lock::new(());
    let held = lock.try_lock().unwrap();
    let mut b = Probe::new(lock.lock());
    let mut c = Probe::new(lock.lock());
    b.pending();
    c.pending();
    drop(held);
    assert!(b.woken() && !c.woken());
    drop(b);
    assert!(c.woken(), "the wake-up was lost with the cancelled waiter");
    let _g = c.ready();
    assert!(lock.locked());
}

// LockTests.test_context_manager: the guard unlocks on drop; `locked()` follows it.
#[test]
fn guard_unlocks_on_drop() {
    let lock = Lock::new(5);
    {
        let mut g = lock.try_lock().unwrap();
        *g += 1;
        assert!(lock.locked());
    }
    assert!(!lock.locked());
    assert_eq!(lock.into_inner(), 6);
}

// The Arc-owning guard outlives the borrow of the lock.
#[test]
fn arc_guard_outlives_the_borrow() {
    let lock = Arc::new(Lock::new(1));
    let guard = {
        let l = lock.clone();
        let mut p = Probe::new(async move { l.lock_arc().await });
        p.ready()
    };
    assert_eq!(*guard, 1);
    assert!(lock.try_lock_arc().is_none());
    drop(guard);
    assert!(lock.try_lock_arc().is_some());
}

// `lock_blocking` from another thread waits for the async holder.
#[test]
fn blocking_lock_from_a_thread() {
    let lock = Arc::new(Lock::new(0));
    let held = lock.try_lock_arc().unwrap();
    let l = lock.clone();
    let t = std::thread::spawn(move || {
        *l.lock_blocking() += 1;
    });
    drop(held);
    t.join().unwrap();
    assert_eq!(*lock.lock_blocking(), 1);
}

// A failed try_lock leaves the holder's lock alone (no phantom guard unlocks it).
#[test]
fn failed_try_lock_changes_nothing() {
    let lock = Lock::new(());
    let _held = lock.try_lock().unwrap();
    assert!(lock.try_lock().is_none());
    assert!(lock.try_lock().is_none());
    assert!(lock.locked());
}
