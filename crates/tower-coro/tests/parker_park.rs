//! `Parker`/`Unparker`: notifications are kept, not counted, and cross threads.
//! Supports test_asyncio's thread-safe wake-up scenarios (`call_soon_threadsafe` waking a
//! blocked loop) at the bottom layer.

use std::sync::mpsc;
use std::task::Waker;
use std::thread;
use std::time::Duration;

use tower_coro::Parker;

#[test]
fn unpark_before_park_is_kept() {
    let p = Parker::new();
    p.unparker().unpark();
    assert!(p.park_timeout(Duration::ZERO));
}

#[test]
fn notifications_do_not_accumulate() {
    let p = Parker::new();
    let u = p.unparker();
    assert!(u.unpark());
    assert!(!u.unpark());
    assert!(p.park_timeout(Duration::ZERO));
    assert!(!p.park_timeout(Duration::ZERO));
}

#[test]
fn park_timeout_without_notification_times_out() {
    let p = Parker::new();
    assert!(!p.park_timeout(Duration::from_millis(1)));
}

#[test]
fn unpark_from_another_thread_wakes_a_parked_thread() {
    let p = Parker::new();
    let u = p.unparker();
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        rx.recv().unwrap();
        u.unpark();
    });
    tx.send(()).unwrap();
    p.park();
    t.join().unwrap();
}

#[test]
fn waker_from_unparker_unparks() {
    let p = Parker::new();
    let waker = Waker::from(p.unparker());
    let t = thread::spawn({
        let waker = waker.clone();
        move || waker.wake()
    });
    p.park();
    t.join().unwrap();
    waker.wake_by_ref();
    assert!(p.park_timeout(Duration::ZERO));
}

#[test]
fn debug_shows_pending_notification() {
    let p = Parker::new();
    p.unparker().unpark();
    assert_eq!(format!("{p:?}"), "Parker { notified: true }");
}
