//! `Lock` hand-off in asyncio's order: the waiter a release grants the lock to resumes before
//! any newcomer can take it, and a granted waiter cancelled before it runs passes the lock on
//! (CPython test_locks.LockTests, gh-90155).

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use common::{Executor, Probe};
use tower_sync::{Lock, LockGuardArc};

// LockTests.test_acquire: c1 and c2 queue on a held lock; each release lets exactly the next
// one in, and c3, started while c2 is queued, comes after it.
#[test]
fn each_release_admits_the_next_waiter_only() {
    let ex = Executor::new();
    let result = Rc::new(RefCell::new(Vec::new()));
    // The tasks keep their guards here, as asyncio's never release; the test releases.
    let guards: Rc<RefCell<Vec<LockGuardArc<()>>>> = Rc::default();
    let lock = Arc::new(Lock::new(()));
    let spawn = |i| {
        let (l, r, g) = (lock.clone(), result.clone(), guards.clone());
        ex.spawn(async move {
            let guard = l.lock_arc().await;
            r.borrow_mut().push(i);
            g.borrow_mut().push(guard);
        })
    };
    let first = lock.try_lock_arc().unwrap();
    let t1 = spawn(1);
    let t2 = spawn(2);
    ex.run();
    assert!(result.borrow().is_empty());
    drop(first);
    ex.run();
    assert_eq!(*result.borrow(), [1]);
    let t3 = spawn(3);
    ex.run();
    assert_eq!(*result.borrow(), [1]);
    guards.borrow_mut().clear();
    ex.run();
    assert_eq!(*result.borrow(), [1, 2]);
    guards.borrow_mut().clear();
    ex.run();
    assert_eq!(*result.borrow(), [1, 2, 3]);
    for t in [t1, t2, t3] {
        ex.block_on(t);
    }
}

// gh-90155's rule for Lock: after a release that granted the lock to a queued waiter, the
// lock reads as locked and a newcomer (try_lock or lock) cannot get in before that waiter
// has resumed and released it. (asyncio's `Lock.locked()` turns false in that window although
// a newcomer still queues; here `locked()` answers "would a newcomer wait".)
#[test]
fn granted_waiter_resumes_before_a_newcomer() {
    let lock = Lock::new(());
    let held = lock.try_lock().unwrap();
    let mut a = Probe::new(lock.lock());
    a.pending();
    drop(held);
    assert!(a.woken());
    assert!(lock.locked());
    assert!(
        lock.try_lock().is_none(),
        "a newcomer barged past the granted waiter"
    );
    let mut n = Probe::new(lock.lock());
    n.pending();
    let guard = a.ready();
    assert!(!n.woken());
    drop(guard);
    assert!(n.woken());
    let _n = n.ready();
    assert!(lock.locked());
}

// LockTests.test_finished_waiter_cancelled: B is granted the lock and cancelled before it
// runs; C, queued behind it, gets the lock and the lock stays locked.
#[test]
fn granted_waiter_cancelled_before_it_runs_passes_the_lock_on() {
    let lock = Lock::new(());
    let held = lock.try_lock().unwrap();
    let mut b = Probe::new(lock.lock());
    let mut c = Probe::new(lock.lock());
    b.pending();
    c.pending();
    drop(held);
    assert!(b.woken() && !c.woken());
    drop(b);
    assert!(lock.locked());
    assert!(lock.try_lock().is_none());
    assert!(c.woken());
    let _c = c.ready();
}

// LockTests.test_release_no_waiters: with nobody waiting, a release unlocks at once.
#[test]
fn release_with_no_waiters_unlocks() {
    let lock = Lock::new(());
    let guard = lock.try_lock().unwrap();
    assert!(lock.locked());
    drop(guard);
    assert!(!lock.locked());
}

// A granted waiter cancelled with nobody behind it leaves the lock free for the fast path.
#[test]
fn granted_waiter_cancelled_alone_frees_the_lock() {
    let lock = Lock::new(());
    let held = lock.try_lock().unwrap();
    let mut a = Probe::new(lock.lock());
    a.pending();
    drop(held);
    assert!(lock.locked());
    drop(a);
    assert!(!lock.locked());
    assert!(lock.try_lock().is_some());
}
