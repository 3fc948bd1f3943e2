//! `watch`: latest value, change notification, closing.

mod common;

use common::Probe;
use tower_sync::error::RecvError;
use tower_sync::watch;

// changed() waits for a send and marks it seen.
#[test]
fn changed_waits_for_a_send() {
    let (tx, mut rx) = watch::channel(0);
    {
        let mut c = Probe::new(rx.changed());
        c.pending();
        tx.send(1).unwrap();
        assert!(c.woken());
        c.ready().unwrap();
    }
    assert_eq!(*rx.borrow(), 1);
    assert_eq!(rx.has_changed(), Ok(false));
}

// Only the latest value counts; intermediate ones are skipped.
#[test]
fn only_the_latest_value_counts() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    Probe::new(rx.changed()).ready().unwrap();
    assert_eq!(*rx.borrow_and_update(), 2);
    Probe::new(rx.changed()).pending();
}

// A cancelled changed() loses nothing: the change stays unseen.
#[test]
fn cancelled_changed_loses_nothing() {
    let (tx, mut rx) = watch::channel(0);
    {
        let mut c = Probe::new(rx.changed());
        c.pending();
    }
    tx.send_modify(|v| *v += 5);
    assert_eq!(rx.has_changed(), Ok(true));
    Probe::new(rx.changed()).ready().unwrap();
}

// The sender gone: changed() fails; receivers gone: send fails but send_replace works.
#[test]
fn closing_both_ways() {
    let (tx, mut rx) = watch::channel(0);
    let rx2 = rx.clone();
    drop(tx);
    assert_eq!(Probe::new(rx.changed()).ready(), Err(RecvError));
    drop(rx2);
    let (tx, rx) = watch::channel(0);
    drop(rx);
    assert_eq!(tx.send(1).unwrap_err().0, 1);
    assert_eq!(tx.send_replace(2), 0);
    assert_eq!(*tx.borrow(), 2);
}
