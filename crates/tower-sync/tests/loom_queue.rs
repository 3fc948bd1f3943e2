//! Loom model of the queues: a put races a woken getter being dropped, and a get races a
//! woken putter being dropped — the wake-up always reaches the next waiter.
#![cfg(loom)]

mod common;

use common::Probe;
use loom::thread;
use tower_sync::Queue;

// A put races the cancellation of the first getter: the second getter is woken and gets it.
#[test]
fn put_races_cancelled_getter() {
    loom::model(|| {
        let q = Queue::new(0);
        let (qa, qb) = (q.clone(), q.clone());
        let mut a = Probe::new(async move { qa.get().await });
        let mut b = Probe::new(async move { qb.get().await });
        a.pending();
        b.pending();
        let q2 = q.clone();
        let t1 = thread::spawn(move || q2.put_nowait(1).unwrap());
        let t2 = thread::spawn(move || drop(a));
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(b.woken());
        assert_eq!(b.ready(), Ok(1));
    });
}

// A get races the cancellation of the first putter: the second putter is woken and puts.
#[test]
fn get_races_cancelled_putter() {
    loom::model(|| {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let (qa, qb) = (q.clone(), q.clone());
        let mut a = Probe::new(async move { qa.put(1).await });
        let mut b = Probe::new(async move { qb.put(2).await });
        a.pending();
        b.pending();
        let q2 = q.clone();
        let t1 = thread::spawn(move || q2.get_nowait().unwrap());
        let t2 = thread::spawn(move || drop(a));
        assert_eq!(t1.join().unwrap(), 0);
        t2.join().unwrap();
        assert!(b.woken());
        b.ready().unwrap();
        assert_eq!(q.get_nowait(), Ok(2));
    });
}

// task_done on one thread, join on another: join never misses the last task_done.
#[test]
fn join_sees_the_last_task_done() {
    loom::model(|| {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        q.get_nowait().unwrap();
        let q2 = q.clone();
        let t1 = thread::spawn(move || q2.task_done().unwrap());
        let t2 = thread::spawn(move || {
            let mut j = Probe::new(async move { q.join().await });
            let first = j.poll().is_ready();
            (first, j)
        });
        t1.join().unwrap();
        let (first, j) = t2.join().unwrap();
        assert!(first || j.woken());
    });
}

// shutdown races a getter's first poll: the getter either fails at once or is woken and fails.
#[test]
fn shutdown_races_a_getter() {
    loom::model(|| {
        let q = Queue::<u8>::new(0);
        let (q1, q2) = (q.clone(), q.clone());
        let t1 = thread::spawn(move || q1.shutdown(false));
        let t2 = thread::spawn(move || {
            let mut g = Probe::new(async move { q2.get().await });
            let first = g.poll();
            (first, g)
        });
        t1.join().unwrap();
        let (first, mut g) = t2.join().unwrap();
        if first.is_pending() {
            assert!(g.woken());
            assert!(g.ready().is_err());
        } else {
            assert!(matches!(first, std::task::Poll::Ready(Err(_))));
        }
    });
}
