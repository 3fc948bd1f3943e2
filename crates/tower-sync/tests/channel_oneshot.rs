//! `oneshot`: one value, closed ends, cancellation.

mod common;

use common::Probe;
use tower_sync::error::{RecvError, TryRecvError};
use tower_sync::oneshot;

// The value arrives and wakes the receiver.
#[test]
fn send_wakes_the_receiver() {
    let (tx, rx) = oneshot::channel();
    let mut rx = Probe::new(rx);
    rx.pending();
    tx.send(1).unwrap();
    assert!(rx.woken());
    assert_eq!(rx.ready(), Ok(1));
}

// A dropped sender fails the receiver.
#[test]
fn dropped_sender_fails_the_receiver() {
    let (tx, rx) = oneshot::channel::<u8>();
    let mut rx = Probe::new(rx);
    rx.pending();
    drop(tx);
    assert!(rx.woken());
    assert_eq!(rx.ready(), Err(RecvError));
}

// A dropped (cancelled) receiver makes send give the value back and wakes `closed`.
#[test]
fn dropped_receiver_refuses_the_value() {
    let (mut tx, rx) = oneshot::channel();
    {
        let mut closed = Probe::new(tx.closed());
        closed.pending();
        drop(rx);
        assert!(closed.woken());
        closed.ready();
    }
    assert!(tx.is_closed());
    assert_eq!(tx.send(5).unwrap_err().0, 5);
}

// try_recv reports empty, then the value.
#[test]
fn try_recv_states() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

// recv_blocking from a thread.
#[test]
fn recv_blocking_across_threads() {
    let (tx, rx) = oneshot::channel();
    let t = std::thread::spawn(move || rx.recv_blocking());
    tx.send("hi").unwrap();
    assert_eq!(t.join().unwrap(), Ok("hi"));
}
