//! `broadcast`: every receiver sees every value; lagging receivers are told what they missed.

mod common;

use common::Probe;
use tower_sync::broadcast;
use tower_sync::error::{BroadcastRecvError, BroadcastTryRecvError};

// Every receiver gets every value.
#[test]
fn every_receiver_gets_every_value() {
    let (tx, mut a) = broadcast::channel(4);
    let mut b = tx.subscribe();
    assert_eq!(tx.send(1).unwrap(), 2);
    tx.send(2).unwrap();
    for rx in [&mut a, &mut b] {
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(BroadcastTryRecvError::Empty));
    }
}

// A lagging receiver is told how many values it missed, then resumes at the oldest held.
#[test]
fn lagging_receiver_is_told_how_many_it_missed() {
    let (tx, mut rx) = broadcast::channel(2);
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    assert_eq!(
        Probe::new(rx.recv()).ready(),
        Err(BroadcastRecvError::Lagged(3))
    );
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Ok(4));
}

// A waiting receive is woken by a send; a cancelled one loses nothing.
#[test]
fn recv_waits_and_cancel_loses_nothing() {
    let (tx, mut rx) = broadcast::channel(2);
    {
        let mut r = Probe::new(rx.recv());
        r.pending();
        tx.send(1).unwrap();
        assert!(r.woken());
    }
    assert_eq!(rx.try_recv(), Ok(1));
}

// Senders gone: receivers drain, then see Closed. Receivers gone: send fails.
#[test]
fn closing_both_ways() {
    let (tx, mut rx) = broadcast::channel(2);
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(
        Probe::new(rx.recv()).ready(),
        Err(BroadcastRecvError::Closed)
    );
    let (tx, rx) = broadcast::channel(2);
    drop(rx);
    assert_eq!(tx.send(7).unwrap_err().0, 7);
}
