//! Loom model of the parker's park/unpark races: a notification is never lost, whichever side
//! runs first, and a waker made from the unparker behaves the same. Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release -p tower-coro --test loom_parker`.
#![cfg(loom)]

use std::task::Waker;
use std::time::Duration;

use loom::thread;
use tower_coro::Parker;

#[test]
fn unpark_races_park() {
    loom::model(|| {
        let p = Parker::new();
        let u = p.unparker();
        let t = thread::spawn(move || {
            u.unpark();
        });
        // Returns whether unpark ran before or during the park; hangs (loom reports a
        // deadlock) if the notification were lost.
        p.park();
        t.join().unwrap();
    });
}

#[test]
fn two_unparkers_race_park_twice() {
    loom::model(|| {
        let p = Parker::new();
        let u1 = p.unparker();
        let u2 = p.unparker();
        let t1 = thread::spawn(move || {
            u1.unpark();
        });
        let t2 = thread::spawn(move || {
            u2.unpark();
        });
        p.park();
        t1.join().unwrap();
        t2.join().unwrap();
        // Both unparks may have coalesced into the one park, or one may still be pending.
        let _ = p.park_timeout(Duration::ZERO);
        assert!(!p.park_timeout(Duration::ZERO));
    });
}

#[test]
fn waker_wake_races_park() {
    loom::model(|| {
        let p = Parker::new();
        let w = Waker::from(p.unparker());
        let t = thread::spawn(move || w.wake());
        p.park();
        t.join().unwrap();
    });
}

#[test]
fn try_park_sees_a_completed_unpark() {
    loom::model(|| {
        let p = Parker::new();
        let u = p.unparker();
        let t = thread::spawn(move || {
            u.unpark();
        });
        t.join().unwrap();
        assert!(p.park_timeout(Duration::ZERO));
    });
}
