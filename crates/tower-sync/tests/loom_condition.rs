//! Loom model of `Condition`: a notify races the cancellation of the notified waiter.
#![cfg(loom)]

mod common;

use std::sync::Arc;

use common::Probe;
use loom::thread;
use tower_sync::Condition;

// notify(1) races dropping the first waiter: the second waiter is woken either way.
#[test]
fn notify_races_cancelled_waiter() {
    loom::model(|| {
        let cond = Arc::new(Condition::new(()));
        let (ca, cb) = (cond.clone(), cond.clone());
        let mut a = Probe::new(async move {
            let g = ca.lock().await;
            drop(ca.wait(g).await);
        });
        let mut b = Probe::new(async move {
            let g = cb.lock().await;
            drop(cb.wait(g).await);
        });
        a.pending();
        b.pending();
        let c = cond.clone();
        let t1 = thread::spawn(move || c.notify(1));
        let t2 = thread::spawn(move || drop(a));
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(b.woken());
        b.ready();
    });
}
