//! Queue waiters: getters and putters in order, and cancellation at each point (CPython
//! test_queues.QueueGetTests / QueuePutTests).

mod common;

use std::pin::pin;

use common::Probe;
use futures_core::Stream;
use tower_sync::Queue;

// QueueGetTests.test_get_with_putters: a get from a full queue admits the oldest putter.
#[test]
fn get_admits_the_oldest_putter() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let mut a = Probe::new(q.put(2));
    let mut b = Probe::new(q.put(3));
    a.pending();
    b.pending();
    assert_eq!(q.get_nowait(), Ok(1));
    assert!(a.woken() && !b.woken());
    a.ready().unwrap();
    assert_eq!(q.get_nowait(), Ok(2));
    b.ready().unwrap();
    assert_eq!(q.get_nowait(), Ok(3));
}

// QueuePutTests.test_put_with_waiting_getters: a put wakes the oldest getter, which gets it.
#[test]
fn put_wakes_the_oldest_getter() {
    let q = Queue::new(0);
    let mut a = Probe::new(q.get());
    let mut b = Probe::new(q.get());
    a.pending();
    b.pending();
    q.put_nowait("x").unwrap();
    assert!(a.woken() && !b.woken());
    assert_eq!(a.ready(), Ok("x"));
    b.pending();
}

// QueueGetTests.test_get_cancelled_race: a getter woken for an item and then cancelled
// passes the wake-up on; the item goes to the next getter.
#[test]
fn cancelled_woken_getter_passes_the_item_on() {
    let q = Queue::new(0);
    let mut a = Probe::new(q.get());
    let mut b = Probe::new(q.get());
    a.pending();
    b.pending();
    q.put_nowait(1).unwrap();
    drop(a);
    assert!(
        b.woken(),
        "the item's wake-up was lost with the cancelled getter"
    );
    assert_eq!(b.ready(), Ok(1));
}

// QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters.
#[test]
fn cancelled_getter_leaves_no_trace() {
    let q = Queue::<u8>::new(0);
    let mut a = Probe::new(q.get());
    a.pending();
    drop(a);
    assert!(format!("{q:?}").contains("getters: 0"));
}

// QueuePutTests.test_put_cancelled_race: a putter woken for room and then cancelled passes
// the room on to the next putter; its own item is not put.
#[test]
fn cancelled_woken_putter_passes_the_room_on() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let mut a = Probe::new(q.put(1));
    let mut b = Probe::new(q.put(2));
    a.pending();
    b.pending();
    assert_eq!(q.get_nowait(), Ok(0));
    drop(a);
    assert!(
        b.woken(),
        "the room's wake-up was lost with the cancelled putter"
    );
    b.ready().unwrap();
    assert_eq!(q.get_nowait(), Ok(2));
    assert!(q.empty());
}

// QueuePutTests.test_why_are_putters_waiting: after room appears and is used, no putter is
// left waiting while there is room.
#[test]
fn putters_are_not_left_waiting_with_room() {
    let q = Queue::new(2);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    let mut a = Probe::new(q.put(3));
    let mut b = Probe::new(q.put(4));
    a.pending();
    b.pending();
    q.get_nowait().unwrap();
    q.get_nowait().unwrap();
    assert!(a.woken() && b.woken());
    a.ready().unwrap();
    b.ready().unwrap();
}

// A woken getter whose item was taken by a `get_nowait` keeps its place at the head.
#[test]
fn robbed_getter_keeps_its_place() {
    let q = Queue::new(0);
    let mut a = Probe::new(q.get());
    let mut b = Probe::new(q.get());
    a.pending();
    b.pending();
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait(), Ok(1));
    a.pending();
    q.put_nowait(2).unwrap();
    assert_eq!(a.ready(), Ok(2));
    b.pending();
}

// The stream yields items and ends after shutdown drains the queue.
#[test]
fn stream_yields_until_shutdown() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    q.shutdown(false);
    let mut s = pin!(q.stream());
    let mut next = || common::poll_once(std::future::poll_fn(|cx| s.as_mut().poll_next(cx)));
    assert_eq!(next(), std::task::Poll::Ready(Some(1)));
    assert_eq!(next(), std::task::Poll::Ready(Some(2)));
    assert_eq!(next(), std::task::Poll::Ready(None));
}

// QueueGetTests.test_why_are_getters_waiting: several puts with several getters waiting wake
// one getter each, in the order they came, and none is left waiting with an item there.
#[test]
fn getters_are_not_left_waiting_with_items() {
    let q = Queue::new(0);
    let mut a = Probe::new(q.get());
    let mut b = Probe::new(q.get());
    let mut c = Probe::new(q.get());
    a.pending();
    b.pending();
    c.pending();
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    assert!(a.woken() && b.woken() && !c.woken());
    assert_eq!((a.ready(), b.ready()), (Ok(1), Ok(2)));
    c.pending();
}

// QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters.
#[test]
fn cancelled_putter_leaves_no_trace() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let mut a = Probe::new(q.put(1));
    a.pending();
    drop(a);
    assert!(format!("{q:?}").contains("putters: 0"));
    assert_eq!(q.get_nowait(), Ok(0));
    assert!(q.empty());
}

// A woken putter whose room was taken by a `put_nowait` keeps its place at the head: the next
// room goes to it, not to the putter queued behind it.
#[test]
fn robbed_putter_keeps_its_place() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let mut a = Probe::new(q.put(1));
    let mut b = Probe::new(q.put(2));
    a.pending();
    b.pending();
    assert_eq!(q.get_nowait(), Ok(0));
    q.put_nowait(9).unwrap();
    a.pending();
    assert_eq!(q.get_nowait(), Ok(9));
    a.ready().unwrap();
    b.pending();
    assert_eq!(q.get_nowait(), Ok(1));
    b.ready().unwrap();
    assert_eq!(q.get_nowait(), Ok(2));
}
