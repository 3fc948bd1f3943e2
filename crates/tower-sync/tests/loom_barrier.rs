//! Loom model of `Barrier`: two parties on two threads, abort racing a waiting party, and the
//! draining phase (reset racing a released party leaving; a newcomer let in as it ends).
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

// The round completed; reset races the released party leaving. The party leaves with its
// index if it left first, with the error if the reset came first; either way the barrier ends
// filling, and the next party waits in a new round.
#[test]
fn reset_races_a_released_party_leaving() {
    loom::model(|| {
        let b = Arc::new(Barrier::new(2));
        let ba = b.clone();
        let mut a = Probe::new(async move { ba.wait().await });
        a.pending();
        assert_eq!(Probe::new(b.wait()).ready(), Ok(1));
        let b1 = b.clone();
        let t1 = thread::spawn(move || b1.reset());
        let t2 = thread::spawn(move || a.ready());
        t1.join().unwrap();
        let out = t2.join().unwrap();
        assert!(matches!(out, Ok(0) | Err(_)));
        assert!(!b.broken());
        let mut next = Probe::new(b.wait());
        next.pending();
        assert_eq!(b.n_waiting(), 1);
    });
}

// A newcomer waits outside a draining barrier; the last released party leaves as the newcomer
// is polled again. The newcomer is either let in at once, or woken after its poll: it is never
// left outside a filling barrier without a wake-up.
#[test]
fn newcomer_outside_let_in_as_the_last_party_leaves() {
    loom::model(|| {
        let b = Arc::new(Barrier::new(2));
        let ba = b.clone();
        let mut a = Probe::new(async move { ba.wait().await });
        a.pending();
        assert_eq!(Probe::new(b.wait()).ready(), Ok(1));
        let bc = b.clone();
        let mut c = Probe::new(async move { bc.wait().await });
        c.pending();
        let t1 = thread::spawn(move || a.ready());
        let t2 = thread::spawn(move || {
            let first = c.poll();
            let wakes = c.wakes.count();
            (first, wakes, c)
        });
        assert_eq!(t1.join().unwrap(), Ok(0));
        let (first, wakes, mut c) = t2.join().unwrap();
        assert!(first.is_pending());
        if b.n_waiting() == 0 {
            assert!(c.wakes.count() > wakes, "left outside without a wake-up");
        }
        c.pending();
        assert_eq!(b.n_waiting(), 1);
    });
}
