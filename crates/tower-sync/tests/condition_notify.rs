//! `Condition`: wait/notify order, wait_for, and cancellation at each point (CPython
//! test_locks.ConditionTests).

mod common;

use std::rc::Rc;
use std::sync::Arc;

use common::{Executor, Probe, yield_now};
use tower_sync::{Condition, Lock};

// ConditionTests.test_wait / test_notify: notify(n) wakes n waiters in order, each returning
// with the lock held.
#[test]
fn notify_wakes_waiters_in_order_with_the_lock() {
    let ex = Executor::new();
    let cond = Rc::new(Condition::new(Vec::new()));
    let tasks: Vec<_> = (1..=3)
        .map(|i| {
            let cond = cond.clone();
            ex.spawn(async move {
                let g = cond.lock().await;
                let mut g = cond.wait(g).await;
                g.push(i);
                yield_now().await; // still holding the lock
                assert!(cond.locked());
            })
        })
        .collect();
    ex.run();
    assert_eq!(cond.notify(1), 1);
    ex.run();
    assert_eq!(*cond.get_lock().try_lock().unwrap(), [1]);
    assert_eq!(cond.notify(2), 2);
    for t in tasks {
        ex.block_on(t);
    }
    assert_eq!(*cond.get_lock().try_lock().unwrap(), [1, 2, 3]);
}

// ConditionTests.test_notify_all: every waiter wakes.
#[test]
fn notify_all_wakes_everyone() {
    let cond = Condition::new(());
    let mut a = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    let mut b = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    a.pending();
    b.pending();
    assert_eq!(cond.notify_all(), 2);
    a.ready();
    b.ready();
}

// ConditionTests.test_wait_cancel: a waiter cancelled before notify leaves the queue; the
// lock is free afterwards.
#[test]
fn cancelled_waiter_leaves_the_queue() {
    let cond = Condition::new(());
    let mut a = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    a.pending();
    drop(a);
    assert!(!cond.locked());
    assert_eq!(cond.notify(1), 0);
}

// ConditionTests.test_wait_cancel_after_notify / test_cancelled_wakeup (gh-112202): a waiter
// notified and then cancelled passes its notification to the next waiter.
#[test]
fn cancelled_after_notify_passes_the_notification_on() {
    let cond = Condition::new(());
    let mut a = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    let mut b = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    a.pending();
    b.pending();
    assert_eq!(cond.notify(1), 1);
    assert!(a.woken() && !b.woken());
    drop(a);
    assert!(
        b.woken(),
        "the notification was lost with the cancelled waiter"
    );
    b.ready();
}

// ConditionTests.test_wait_cancel_contested: a waiter notified while another task holds the
// lock, then cancelled while re-acquiring, does not keep the lock or break it.
#[test]
fn cancelled_while_reacquiring_leaves_the_lock_usable() {
    let cond = Condition::new(());
    let mut a = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    a.pending();
    let held = cond.get_lock().try_lock().unwrap();
    cond.notify(1);
    a.pending(); // notified; now queued on the lock
    drop(a);
    drop(held);
    assert!(!cond.locked());
}

// ConditionTests.test_cancelled_error_re_aquire / gh-112202: a waiter notified and then
// cancelled while re-acquiring the lock still passes its notification on.
#[test]
fn cancelled_while_reacquiring_passes_the_notification_on() {
    let cond = Condition::new(());
    let mut a = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    let mut b = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    a.pending();
    b.pending();
    let held = cond.get_lock().try_lock().unwrap();
    cond.notify(1);
    a.pending(); // notified; now queued on the lock
    assert!(!b.woken());
    drop(a);
    assert!(
        b.woken(),
        "the notification was lost with the re-acquiring waiter"
    );
    drop(held);
    b.ready();
}

// ConditionTests.test_wait_for: wait_for returns once the predicate holds, re-checking after
// each notification.
#[test]
fn wait_for_rechecks_the_predicate() {
    let cond = Condition::new(0);
    let mut w = Probe::new(async { *cond.wait_for(cond.lock().await, |v| *v >= 2).await });
    w.pending();
    *cond.get_lock().try_lock().unwrap() = 1;
    cond.notify_all();
    w.pending();
    *cond.get_lock().try_lock().unwrap() = 2;
    cond.notify_all();
    assert_eq!(w.ready(), 2);
}

// Condition(lock): a condition on a shared lock waits and re-acquires that lock.
#[test]
fn condition_on_a_given_lock() {
    let lock = Arc::new(Lock::new(()));
    let cond = Condition::with_lock(lock.clone());
    let mut a = Probe::new(async { drop(cond.wait(cond.lock().await).await) });
    a.pending();
    assert!(!lock.locked(), "wait must release the shared lock");
    cond.notify(1);
    a.ready();
}

// The blocking form from another thread.
#[test]
fn wait_blocking_from_a_thread() {
    let cond = Arc::new(Condition::new(false));
    let c = cond.clone();
    let t = std::thread::spawn(move || {
        let mut g = c.get_lock().lock_blocking();
        while !*g {
            g = c.wait_blocking(g);
        }
    });
    *cond.get_lock().lock_blocking() = true;
    cond.notify_all();
    // The thread may have queued before or after the flag was set; either way it ends.
    while !t.is_finished() {
        cond.notify_all();
        std::thread::yield_now();
    }
    t.join().unwrap();
}
