//! LifoQueue and PriorityQueue under waiting getters and putters, and the queue stream
//! (CPython test_queues.LifoQueueTests / PriorityQueueTests run through the waiting paths).

mod common;

use std::pin::Pin;
use std::task::Poll;

use common::{Probe, poll_once};
use futures_core::Stream;
use tower_sync::error::QueueShutDown;
use tower_sync::{LifoQueue, PriorityQueue};

// A waiting getter on a PriorityQueue gets the item put for it.
#[test]
fn priority_queue_waiting_getter() {
    let q = PriorityQueue::new(0);
    let mut g = Probe::new(q.get());
    g.pending();
    q.put_nowait((3, "c")).unwrap();
    assert_eq!(g.ready(), Ok((3, "c")));
}

// A full PriorityQueue admits a waiting putter once the smallest item is taken.
#[test]
fn priority_queue_waiting_putter() {
    let q = PriorityQueue::new(2);
    q.put_nowait(5).unwrap();
    q.put_nowait(1).unwrap();
    let mut p = Probe::new(q.put(0));
    p.pending();
    assert_eq!(q.get_nowait(), Ok(1));
    p.ready().unwrap();
    assert_eq!(q.get_nowait(), Ok(0));
    assert_eq!(q.get_nowait(), Ok(5));
}

// LifoQueue: a waiting putter's item goes on top.
#[test]
fn lifo_queue_waiting_putter() {
    let q = LifoQueue::new(1);
    q.put_nowait(1).unwrap();
    let mut p = Probe::new(q.put(2));
    p.pending();
    assert_eq!(q.get_nowait(), Ok(1));
    p.ready().unwrap();
    assert_eq!(q.get_nowait(), Ok(2));
}

// A stream that is waiting is woken by a put, and ends on shutdown.
#[test]
fn stream_wakes_on_put_and_ends_on_shutdown() {
    let q = LifoQueue::new(0);
    let mut s = Box::pin(q.stream());
    let next = |s: &mut Pin<Box<tower_sync::QueueStream<i32>>>| {
        poll_once(std::future::poll_fn(|cx| s.as_mut().poll_next(cx)))
    };
    assert_eq!(next(&mut s), Poll::Pending);
    q.put_nowait(4).unwrap();
    assert_eq!(next(&mut s), Poll::Ready(Some(4)));
    q.shutdown(false);
    assert_eq!(next(&mut s), Poll::Ready(None));
    assert_eq!(Probe::new(q.get()).ready(), Err(QueueShutDown(())));
}
