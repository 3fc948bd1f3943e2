//! `Barrier`: rounds, cancellation, reset and abort while parties wait (CPython
//! test_locks.BarrierTests).

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Executor, Probe};
use tower_sync::Barrier;
use tower_sync::error::BrokenBarrierError;

// BarrierTests.test_context_manager / test_filling_tasks_check_return_value: all parties pass
// together with distinct indices; nobody passes early.
#[test]
fn parties_pass_together_with_distinct_indices() {
    let ex = Executor::new();
    let barrier = Rc::new(Barrier::new(3));
    let indices = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (b, idx) = (barrier.clone(), indices.clone());
            ex.spawn(async move {
                let i = b.wait().await.unwrap();
                idx.borrow_mut().push(i);
            })
        })
        .collect();
    for t in tasks {
        ex.block_on(t);
    }
    let mut got = indices.borrow().clone();
    got.sort();
    assert_eq!(got, [0, 1, 2]);
    assert_eq!(barrier.n_waiting(), 0);
}

// BarrierTests.test_filling_tasks_wait_twice / test_filling_one_task_twice: the barrier can
// be used for several rounds.
#[test]
fn several_rounds() {
    let barrier = Barrier::new(2);
    for _ in 0..3 {
        let mut a = Probe::new(barrier.wait());
        a.pending();
        assert_eq!(barrier.n_waiting(), 1);
        assert_eq!(Probe::new(barrier.wait()).ready(), Ok(1));
        assert_eq!(a.ready(), Ok(0));
    }
}

// BarrierTests.test_filling_tasks_cancel_one: a waiting party that is cancelled leaves the
// round; the round then needs another arrival.
#[test]
fn cancelled_party_leaves_the_round() {
    let barrier = Barrier::new(3);
    let mut a = Probe::new(barrier.wait());
    let mut b = Probe::new(barrier.wait());
    a.pending();
    b.pending();
    drop(b);
    assert_eq!(barrier.n_waiting(), 1);
    let mut c = Probe::new(barrier.wait());
    c.pending();
    assert!(Probe::new(barrier.wait()).ready().is_ok());
    assert!(a.ready().is_ok() && c.ready().is_ok());
}

// BarrierTests.test_reset_barrier_while_tasks_waiting: waiting parties get
// BrokenBarrierError; the barrier is usable again at once.
#[test]
fn reset_fails_waiting_parties_and_restarts() {
    let barrier = Barrier::new(2);
    let mut a = Probe::new(barrier.wait());
    a.pending();
    barrier.reset();
    assert!(a.woken());
    assert_eq!(a.ready(), Err(BrokenBarrierError));
    assert!(!barrier.broken());
    let mut b = Probe::new(barrier.wait());
    b.pending();
    assert!(Probe::new(barrier.wait()).ready().is_ok());
    assert!(b.ready().is_ok());
}

// BarrierTests.test_abort_barrier: waiting parties and later arrivals fail until reset.
#[test]
fn abort_breaks_the_barrier_until_reset() {
    let barrier = Barrier::new(2);
    let mut a = Probe::new(barrier.wait());
    a.pending();
    barrier.abort();
    assert_eq!(a.ready(), Err(BrokenBarrierError));
    assert!(barrier.broken());
    assert_eq!(Probe::new(barrier.wait()).ready(), Err(BrokenBarrierError));
    barrier.reset();
    assert!(!barrier.broken());
    Probe::new(barrier.wait()).pending();
}

// Parties and n_waiting report the configuration and the current round.
#[test]
fn parties_and_n_waiting() {
    let barrier = Barrier::new(4);
    assert_eq!(barrier.parties(), 4);
    let mut a = Probe::new(barrier.wait());
    a.pending();
    assert_eq!(barrier.n_waiting(), 1);
}
