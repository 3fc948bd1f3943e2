//! Loom model of `Barrier`: two parties on two threads, and abort racing a waiting party.
#![cfg(loom)]

mod common;

use std::sync::Arc;

use common::Probe;
use loom::thread;
use tower_sync::Barrier;

// Two parties meet; their indices are 0 and 1.
#[test]
fn two_parties_meet() {
    loom::model(|| {
        let b = Arc::new(Barrier::new(2));
        let b2 = b.clone();
        let t = thread::spawn(move || loom::future::block_on(b2.wait()).unwrap());
        let mine = loom::future::block_on(b.wait()).unwrap();
        let theirs = t.join().unwrap();
        assert_eq!(mine + theirs, 1);
    });
}

// abort races a party's arrival: the party either fails at once or is woken with the error.
#[test]
fn abort_races_a_waiting_party() {
    loom::model(|| {
        let b = Arc::new(Barrier::new(2));
        let b2 = b.clone();
        let t1 = thread::spawn(move || b2.abort());
        let bw = b.clone();
        let t2 = thread::spawn(move || {
            let mut w = Probe::new(async move { bw.wait().await });
            let first = w.poll();
            (first, w)
        });
        t1.join().unwrap();
        let (first, mut w) = t2.join().unwrap();
        if first.is_pending() {
            assert!(w.woken());
            assert!(w.ready().is_err());
        } else {
            assert!(matches!(first, std::task::Poll::Ready(Err(_))));
        }
    });
}

// The last party arrives as a waiting party is dropped: either the round completed (and the
// drop changes nothing) or the dropped party left first and the newcomer now waits alone.
#[test]
fn party_dropped_as_the_round_completes() {
    loom::model(|| {
        let b = Arc::new(Barrier::new(2));
        let ba = b.clone();
        let mut a = Probe::new(async move { ba.wait().await });
        a.pending();
        let b2 = b.clone();
        let t1 = thread::spawn(move || {
            let mut last = Probe::new(async move { b2.wait().await });
            last.poll().is_ready()
        });
        let t2 = thread::spawn(move || drop(a));
        let tripped = t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(b.n_waiting(), 0, "tripped = {tripped}");
    });
}
