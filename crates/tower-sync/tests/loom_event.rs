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
        let t = thread::spawn(move || e.set());
        let mut w = Probe::new(ev.wait());
        let first = w.poll().is_ready();
        t.join().unwrap();
        assert!(first || w.woken());
        drop(w);
        drop(ev);
    });
}
