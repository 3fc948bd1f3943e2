//! Loom model of `RwLock`: readers and a writer on two threads; a queued writer dropped as
//! the last reader leaves.
#![cfg(loom)]

mod common;

use std::sync::Arc;

use common::Probe;
use loom::thread;
use tower_sync::RwLock;

// A writer and a reader on two threads: the reader sees 0 or 1, the lock ends free.
#[test]
fn reader_and_writer() {
    loom::model(|| {
        let lock = Arc::new(RwLock::new(0));
        let l = lock.clone();
        let t = thread::spawn(move || *loom::future::block_on(l.write()) += 1);
        let seen = *loom::future::block_on(lock.read());
        t.join().unwrap();
        assert!(seen <= 1);
        assert_eq!(*lock.try_write().unwrap(), 1);
    });
}

// The last reader leaves as the queued writer is dropped: the lock ends free.
#[test]
fn writer_dropped_as_reader_leaves() {
    loom::model(|| {
        let lock = Arc::new(RwLock::new(()));
        let r = Probe::new(lock.read_arc()).ready();
        let mut w = Probe::new(lock.write_arc());
        w.pending();
        let t1 = thread::spawn(move || drop(r));
        let t2 = thread::spawn(move || drop(w));
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(lock.try_write().is_some());
    });
}
