//! `Event`: set wakes every waiter, clear, cancellation (CPython test_locks.EventTests).

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Executor, Probe};
use tower_sync::Event;

// EventTests.test_wait: every waiter wakes on set.
#[test]
fn set_wakes_every_waiter() {
    let ex = Executor::new();
    let ev = Rc::new(Event::new());
    let done = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let (ev, done) = (ev.clone(), done.clone());
            ex.spawn(async move {
                ev.wait().await;
                done.borrow_mut().push(i);
            })
        })
        .collect();
    ex.run();
    assert!(done.borrow().is_empty());
    ev.set();
    for t in tasks {
        ex.block_on(t);
    }
    assert_eq!(*done.borrow(), [0, 1, 2]);
}

// EventTests.test_wait_on_set: waiting on a set event returns at once.
#[test]
fn wait_on_set_event_returns() {
    let ev = Event::new();
    ev.set();
    Probe::new(ev.wait()).ready();
}

// EventTests.test_wait_cancel: a cancelled waiter does not disturb the others.
#[test]
fn cancelled_waiter_does_not_disturb_others() {
    let ev = Event::new();
    let mut a = Probe::new(ev.wait());
    let mut b = Probe::new(ev.wait());
    a.pending();
    b.pending();
    drop(a);
    ev.set();
    assert!(b.woken());
    b.ready();
}

// EventTests.test_clear: clear makes later waits block.
#[test]
fn clear_resets_the_flag() {
    let ev = Event::new();
    ev.set();
    ev.clear();
    assert!(!ev.is_set());
    Probe::new(ev.wait()).pending();
}

// EventTests.test_clear_with_waiters: a waiter woken by set returns even if the event is
// cleared (and set again) before it runs.
#[test]
fn woken_waiter_returns_even_if_cleared() {
    let ev = Event::new();
    let mut a = Probe::new(ev.wait());
    a.pending();
    ev.set();
    ev.clear();
    a.ready();
    assert!(!ev.is_set());
}
