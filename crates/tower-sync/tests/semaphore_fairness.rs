//! `Semaphore` and `BoundedSemaphore`: FIFO order, no lost permits under cancellation, bounds
//! (CPython test_locks.SemaphoreTests).

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use common::{Executor, Probe, yield_now};
use tower_sync::error::BoundedSemaphoreError;
use tower_sync::{BoundedSemaphore, Semaphore};

// SemaphoreTests.test_initial_value_zero: a semaphore of 0 is locked.
#[test]
fn zero_permits_is_locked() {
    let sem = Semaphore::new(0);
    assert!(sem.locked());
    assert!(sem.try_acquire().is_none());
}

// SemaphoreTests.test_acquire_fifo_order: waiters get permits in arrival order.
#[test]
fn permits_go_in_arrival_order() {
    let ex = Executor::new();
    let sem = Rc::new(Semaphore::new(1));
    let order = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (1..=4)
        .map(|i| {
            let (sem, order) = (sem.clone(), order.clone());
            ex.spawn(async move {
                let _p = sem.acquire().await;
                order.borrow_mut().push(i);
                yield_now().await;
            })
        })
        .collect();
    for t in tasks {
        ex.block_on(t);
    }
    assert_eq!(*order.borrow(), [1, 2, 3, 4]);
}

// SemaphoreTests.test_acquire_cancel_before_awoken (bpo-45997): a permit released to a waiter
// that is then cancelled goes to the next waiter instead of being lost.
#[test]
fn cancelled_after_release_passes_the_permit_on() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    let mut b = Probe::new(sem.acquire());
    a.pending();
    b.pending();
    sem.release();
    assert!(a.woken());
    drop(a);
    assert!(b.woken(), "the permit was lost with the cancelled waiter");
    let _p = b.ready();
}

// SemaphoreTests.test_acquire_cancel: a cancelled waiter takes no permit.
#[test]
fn cancelled_waiter_takes_no_permit() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    a.pending();
    drop(a);
    sem.release();
    assert_eq!(sem.available_permits(), 1);
    assert!(!sem.locked());
}

// SemaphoreTests.test_acquire_hang: after waiters are cancelled, later acquirers still get
// released permits (nothing stays "reserved" for the dead).
#[test]
fn no_hang_after_cancellations() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    let mut b = Probe::new(sem.acquire());
    a.pending();
    b.pending();
    drop(a);
    drop(b);
    sem.release();
    assert!(sem.try_acquire().is_some());
}

// SemaphoreTests.test_acquire_no_hang / fifo_order_3: a newcomer cannot take a permit that was
// handed to a queued waiter.
#[test]
fn no_barging_past_waiters() {
    let sem = Semaphore::new(1);
    let first = sem.try_acquire().unwrap();
    let mut w = Probe::new(sem.acquire());
    w.pending();
    drop(first);
    assert!(sem.try_acquire().is_none());
    let _p = w.ready();
}

// SemaphoreTests.test_release_no_waiters: release with nobody waiting adds a permit.
#[test]
fn release_without_waiters_adds_a_permit() {
    let sem = Semaphore::new(0);
    sem.release();
    assert_eq!(sem.available_permits(), 1);
}

// BoundedSemaphore: releasing past the initial value is an error (asyncio's ValueError).
#[test]
fn bounded_release_past_bound_fails() {
    let sem = BoundedSemaphore::new(1);
    assert_eq!(sem.release(), Err(BoundedSemaphoreError { bound: 1 }));
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.release(), Ok(()));
    assert!(sem.release().is_err());
}

// Guards give their permits back; `forget` keeps them taken.
#[test]
fn guard_returns_permit_and_forget_keeps_it() {
    let sem = Arc::new(Semaphore::new(2));
    let a = sem.try_acquire_arc().unwrap();
    let b = sem.try_acquire().unwrap();
    assert!(sem.locked());
    drop(a);
    b.forget();
    assert_eq!(sem.available_permits(), 1);
}

// A failed try_acquire adds no permit.
#[test]
fn failed_try_acquire_changes_nothing() {
    let sem = Semaphore::new(1);
    let _p = sem.try_acquire().unwrap();
    assert!(sem.try_acquire().is_none());
    assert_eq!(sem.available_permits(), 0);
}

// BoundedSemaphore's Arc guards give their permit back within the bound.
#[test]
fn bounded_arc_guard_returns_its_permit() {
    let sem = Arc::new(BoundedSemaphore::new(1));
    let g = sem.try_acquire_arc().unwrap();
    assert!(sem.try_acquire_arc().is_none());
    drop(g);
    assert_eq!(sem.available_permits(), 1);
    assert!(sem.release().is_err());
}
