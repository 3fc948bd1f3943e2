//! `mpsc`: ordering, bounded back-pressure, closing, cancellation.

mod common;

use common::Probe;
use tower_sync::error::{RecvError, TryRecvError, TrySendError};
use tower_sync::mpsc;

// Values arrive in order from one sender.
#[test]
fn values_arrive_in_order() {
    let (tx, mut rx) = mpsc::unbounded();
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    let got: Vec<_> = (0..5).map(|_| rx.try_recv().unwrap()).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

// A full bounded channel makes send wait until a value is received.
#[test]
fn full_channel_makes_send_wait() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    let mut s = Probe::new(tx.send(2));
    s.pending();
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(s.woken());
    s.ready().unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

// A waiting sender cancelled after being woken passes the room on to the next sender.
#[test]
fn cancelled_woken_sender_passes_the_room_on() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut a = Probe::new(tx.send(1));
    let mut b = Probe::new(tx.send(2));
    a.pending();
    b.pending();
    rx.try_recv().unwrap();
    drop(a);
    assert!(b.woken(), "room wake-up lost with the cancelled sender");
    b.ready().unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

// A receive waits, and is woken by a send.
#[test]
fn recv_waits_for_a_send() {
    let (tx, mut rx) = mpsc::channel(4);
    {
        let mut r = Probe::new(rx.recv());
        r.pending();
        tx.try_send(9).unwrap();
        assert!(r.woken());
        assert_eq!(r.ready(), Ok(9));
    }
}

// A cancelled receive loses no value.
#[test]
fn cancelled_recv_loses_nothing() {
    let (tx, mut rx) = mpsc::channel(4);
    {
        let mut r = Probe::new(rx.recv());
        r.pending();
        tx.try_send(1).unwrap();
    }
    assert_eq!(rx.try_recv(), Ok(1));
}

// When every sender is gone, recv drains then fails.
#[test]
fn closed_when_every_sender_is_gone() {
    let (tx, mut rx) = mpsc::channel(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx2);
    assert_eq!(Probe::new(rx.recv()).ready(), Err(RecvError));
}

// When the receiver is gone, sends give the value back.
#[test]
fn send_fails_without_receiver() {
    let (tx, rx) = mpsc::channel(4);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    assert_eq!(Probe::new(tx.send(2)).ready().unwrap_err().0, 2);
}

// Blocking forms across threads.
#[test]
fn blocking_forms_across_threads() {
    let (tx, mut rx) = mpsc::channel(2);
    let t = std::thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
    });
    let got: Vec<_> = (0..100).map(|_| rx.recv_blocking().unwrap()).collect();
    t.join().unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert_eq!(rx.recv_blocking(), Err(RecvError));
}

// The receiver is a Stream: it yields values and ends when every sender is gone.
#[test]
fn receiver_stream_ends_when_senders_are_gone() {
    use futures_core::Stream;
    let (tx, mut rx) = mpsc::unbounded();
    let mut next = || {
        common::poll_once(std::future::poll_fn(|cx| {
            std::pin::Pin::new(&mut rx).poll_next(cx)
        }))
    };
    assert!(next().is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(next(), std::task::Poll::Ready(Some(1)));
    drop(tx);
    assert_eq!(next(), std::task::Poll::Ready(None));
}
