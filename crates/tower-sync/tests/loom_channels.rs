//! Loom models of the channels: oneshot, mpsc (bounded, with a waiting sender), broadcast
//! and watch — no value and no wake-up is lost across threads.
#![cfg(loom)]

mod common;

use common::Probe;
use loom::thread;
use tower_sync::{broadcast, mpsc, oneshot, watch};

// oneshot: a send on another thread reaches a receiver that is waiting or about to.
#[test]
fn oneshot_send_reaches_receiver() {
    loom::model(|| {
        let (tx, rx) = oneshot::channel();
        let t = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(loom::future::block_on(rx), Ok(1));
        t.join().unwrap();
    });
}

// oneshot: dropping the receiver races the send: the value is either delivered or returned.
#[test]
fn oneshot_receiver_dropped_during_send() {
    loom::model(|| {
        let (tx, rx) = oneshot::channel::<u8>();
        let t = thread::spawn(move || tx.send(1).is_ok());
        drop(rx);
        t.join().unwrap();
    });
}

// mpsc bounded(1): a sender waits for room while the receiver drains; both values arrive.
#[test]
fn mpsc_bounded_back_pressure() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel(1);
        let t = thread::spawn(move || {
            loom::future::block_on(tx.send(1)).unwrap();
            loom::future::block_on(tx.send(2)).unwrap();
        });
        assert_eq!(loom::future::block_on(rx.recv()), Ok(1));
        assert_eq!(loom::future::block_on(rx.recv()), Ok(2));
        t.join().unwrap();
    });
}

// broadcast: a send on another thread wakes a waiting receiver.
#[test]
fn broadcast_send_wakes_receiver() {
    loom::model(|| {
        let (tx, mut rx) = broadcast::channel(1);
        let t = thread::spawn(move || {
            tx.send(5).unwrap();
        });
        assert_eq!(loom::future::block_on(rx.recv()), Ok(5));
        t.join().unwrap();
    });
}

// watch: a change on another thread is never missed by changed().
#[test]
fn watch_change_is_never_missed() {
    loom::model(|| {
        let (tx, mut rx) = watch::channel(0);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        let first = Probe::new(rx.changed()).poll().is_ready();
        let tx = t.join().unwrap();
        if !first {
            assert!(rx.has_changed().unwrap());
        }
        drop(tx);
    });
}

// mpsc: a sender waiting for room is dropped as the receiver frees it: the other waiting
// sender gets the room (the wake-up is passed on).
#[test]
fn mpsc_waiting_sender_dropped_as_room_frees() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(0).unwrap();
        let (ta, tb) = (tx.clone(), tx.clone());
        let mut a = Probe::new(async move { ta.send(1).await });
        let mut b = Probe::new(async move { tb.send(2).await });
        a.pending();
        b.pending();
        let t = thread::spawn(move || {
            let v = rx.try_recv().unwrap();
            (v, rx)
        });
        drop(a);
        let (v, mut rx) = t.join().unwrap();
        assert_eq!(v, 0);
        assert!(b.woken());
        b.ready().unwrap();
        assert_eq!(rx.try_recv(), Ok(2));
        drop(tx);
    });
}
