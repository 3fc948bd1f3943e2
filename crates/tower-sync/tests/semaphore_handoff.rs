//! `Semaphore` and `BoundedSemaphore` hand-off in asyncio's order: a waiter that was granted a
//! permit resumes before a newcomer can take one, and `locked()` stays true until it has
//! (CPython test_locks.SemaphoreTests, gh-90155).

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Executor, Probe, yield_now};
use tower_sync::{BoundedSemaphore, Semaphore};

// SemaphoreTests.test_acquire_fifo_order_2: two releases grant c2 and c3; c2 runs first,
// releases and acquires again. The spare permit must wait for c3 (granted earlier) to run, so
// c3 appends before c2's second acquire completes: [1, 2, 3, 4].
#[test]
fn granted_waiters_resume_before_a_newcomer_acquires() {
    let ex = Executor::new();
    let sem = Rc::new(Semaphore::new(1));
    let result = Rc::new(RefCell::new(Vec::new()));
    let (s, r) = (sem.clone(), result.clone());
    let t1 = ex.spawn(async move {
        s.acquire().await.forget();
        r.borrow_mut().push(1);
    });
    let (s, r) = (sem.clone(), result.clone());
    let t2 = ex.spawn(async move {
        s.acquire().await.forget();
        r.borrow_mut().push(2);
        s.release();
        s.acquire().await.forget();
        r.borrow_mut().push(4);
    });
    let (s, r) = (sem.clone(), result.clone());
    let t3 = ex.spawn(async move {
        s.acquire().await.forget();
        r.borrow_mut().push(3);
    });
    ex.run();
    sem.release();
    sem.release();
    for t in [t1, t2, t3] {
        ex.block_on(t);
    }
    assert_eq!(*result.borrow(), [1, 2, 3, 4]);
}

// SemaphoreTests.test_acquire_fifo_order_2, seen from outside: a permit released while the
// only waiter has been granted but has not run yet is not for a newcomer. `locked()` is
// asyncio's "cannot be acquired immediately": true while granted waiters have not resumed.
#[test]
fn locked_while_a_granted_waiter_has_not_run() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    a.pending();
    sem.release();
    sem.release();
    assert!(a.woken());
    assert_eq!(sem.available_permits(), 1, "asyncio's _value");
    assert!(
        sem.locked(),
        "a newcomer could acquire before the granted waiter ran"
    );
    assert!(
        sem.try_acquire().is_none(),
        "a newcomer barged past a granted waiter"
    );
    let _a = a.ready();
    assert!(!sem.locked());
    assert!(sem.try_acquire().is_some());
}

// The newcomer that queued behind a granted waiter gets the spare permit as soon as that
// waiter resumes (asyncio's acquire: "wake up as many as are allowed" on the way out).
#[test]
fn newcomer_queued_behind_a_granted_waiter_gets_the_spare_permit() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    a.pending();
    sem.release();
    sem.release();
    let mut n = Probe::new(sem.acquire());
    n.pending();
    assert!(!n.woken());
    let _a = a.ready();
    assert!(
        n.woken(),
        "the spare permit stayed free while a waiter queued"
    );
    let _n = n.ready();
    assert_eq!(sem.available_permits(), 0);
    assert!(sem.locked());
}

// SemaphoreTests.test_acquire_cancel_before_awoken, with a spare permit: the granted waiter is
// cancelled before it runs; its permit goes to the newcomer queued behind it and the spare one
// stays free once nobody is left waiting.
#[test]
fn granted_waiter_dropped_passes_its_permit_to_the_queue() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    a.pending();
    sem.release();
    sem.release();
    let mut n = Probe::new(sem.acquire());
    n.pending();
    drop(a);
    assert!(n.woken(), "the cancelled waiter's permit was lost");
    let n = n.ready();
    assert_eq!(sem.available_permits(), 1);
    assert!(!sem.locked());
    drop(n);
    assert_eq!(sem.available_permits(), 2);
}

// A granted waiter dropped with nobody behind it gives its permit back to the free count, and
// the fast path works again.
#[test]
fn granted_waiter_dropped_alone_frees_the_semaphore() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    a.pending();
    sem.release();
    assert!(sem.locked());
    drop(a);
    assert!(!sem.locked());
    assert_eq!(sem.available_permits(), 1);
    assert!(sem.try_acquire().is_some());
}

// SemaphoreTests.test_acquire: Semaphore(3), two taken; c1 takes the last, c2 and c3 queue; c4
// starts after two releases. The releases go to c2 and c3; c4 waits; nothing is left over.
#[test]
fn releases_go_to_queued_waiters_not_to_a_later_task() {
    let ex = Executor::new();
    let sem = Rc::new(Semaphore::new(3));
    sem.try_acquire().unwrap().forget();
    sem.try_acquire().unwrap().forget();
    assert!(!sem.locked());
    let result = Rc::new(RefCell::new(Vec::new()));
    let spawn = |i| {
        let (s, r) = (sem.clone(), result.clone());
        ex.spawn(async move {
            s.acquire().await.forget();
            r.borrow_mut().push(i);
        })
    };
    let t1 = spawn(1);
    let t2 = spawn(2);
    let t3 = spawn(3);
    ex.run();
    assert_eq!(*result.borrow(), [1]);
    assert!(sem.locked());
    assert_eq!(sem.available_permits(), 0);
    let t4 = spawn(4);
    sem.release();
    sem.release();
    assert_eq!(sem.available_permits(), 0);
    ex.run();
    assert_eq!(*result.borrow(), [1, 2, 3]);
    assert!(sem.locked());
    assert_eq!(sem.available_permits(), 0);
    assert!(!t4.is_finished());
    sem.release();
    for t in [t1, t2, t3, t4] {
        ex.block_on(t);
    }
    assert_eq!(*result.borrow(), [1, 2, 3, 4]);
}

// SemaphoreTests.test_acquire_fifo_order: three tasks take the one permit twice each, yielding
// while they hold it; every round goes in arrival order.
#[test]
fn repeated_acquires_keep_arrival_order() {
    let ex = Executor::new();
    let sem = Rc::new(Semaphore::new(1));
    let result = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = ["c1", "c2", "c3"]
        .into_iter()
        .map(|tag| {
            let (s, r) = (sem.clone(), result.clone());
            ex.spawn(async move {
                for round in 1..=2 {
                    let permit = s.acquire().await;
                    r.borrow_mut().push(format!("{tag}_{round}"));
                    yield_now().await;
                    drop(permit);
                }
            })
        })
        .collect();
    for t in tasks {
        ex.block_on(t);
    }
    assert_eq!(
        *result.borrow(),
        ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]
    );
}

// SemaphoreTests.test_acquire_fifo_order_3: the first waiter is cancelled, then two releases:
// the other two get the permits in order.
#[test]
fn cancelled_first_waiter_then_two_releases() {
    let ex = Executor::new();
    let sem = Rc::new(Semaphore::new(0));
    let result = Rc::new(RefCell::new(Vec::new()));
    let spawn = |i| {
        let (s, r) = (sem.clone(), result.clone());
        ex.spawn(async move {
            s.acquire().await.forget();
            r.borrow_mut().push(i);
        })
    };
    let t1 = spawn(1);
    let t2 = spawn(2);
    let t3 = spawn(3);
    ex.run();
    drop(t1);
    ex.run();
    sem.release();
    sem.release();
    ex.block_on(t2);
    ex.block_on(t3);
    assert_eq!(*result.borrow(), [2, 3]);
}

// SemaphoreTests.test_release_no_waiters: with nobody waiting a release unlocks at once.
#[test]
fn release_with_no_waiters_unlocks() {
    let sem = Semaphore::new(1);
    sem.try_acquire().unwrap().forget();
    assert!(sem.locked());
    sem.release();
    assert!(!sem.locked());
}

// BoundedSemaphore follows the same order: a permit given back while a granted waiter has
// not run stays out of a newcomer's reach; the bound counts free permits, as asyncio's does.
#[test]
fn bounded_semaphore_keeps_the_granted_waiter_first() {
    let sem = BoundedSemaphore::new(2);
    sem.try_acquire().unwrap().forget();
    sem.try_acquire().unwrap().forget();
    let mut a = Probe::new(sem.acquire());
    a.pending();
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Ok(()));
    assert!(sem.locked());
    assert!(
        sem.try_acquire().is_none(),
        "a newcomer barged past a granted waiter"
    );
    a.ready().forget();
    assert_eq!(sem.available_permits(), 1);
    assert!(!sem.locked());
    assert!(sem.release().is_ok());
    assert!(sem.release().is_err());
}
