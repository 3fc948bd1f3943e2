//! Loom model of `Event`: a set on another thread is never missed by a waiter.
#![cfg(loom)]

mod common;

use std::sync::Arc;

use common::Probe;
use loom::thread;
use tower_sync::Event;

// set races the first poll of wait: either wait sees the flag, or it is woken.
#[test]
fn set_is_never_missed() {
    loom::model(|| {
        let ev = Arc::new(Event::new());
        let e = ev.clone();
        let t1 = thread::spawn(move || e.set());
        let e2 = ev.clone();
        let t2 = thread::spawn(move || {
            let mut w = Probe::new(async move { e2.wait().await });
            let first = w.poll().is_ready();
            (first, w)
        });
        t1.join().unwrap();
        let (first, w) = t2.join().unwrap();
        assert!(first || w.woken());
        drop(w);
        drop(ev);
    });
}
