//! Loom model of the queues: a put races a woken getter being dropped, and a get races a
//! woken putter being dropped — the wake-up always reaches the next waiter.
#![cfg(loom)]

mod common;

use common::Probe;
use loom::thread;
use tower_sync::{LifoQueue, Queue};

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
        assert!(g.settle(first).is_err());
    });
}

// The lock-free store (Queue's ring): a put races a getter's first poll, which queues itself
// and pops once more. Either the getter gets the item at once, or it is counted in time for
// the put to wake it — never an item in the queue with its getter asleep.
#[test]
fn put_races_a_getter_queueing() {
    loom::model(|| {
        let q = Queue::new(2);
        let q2 = q.clone();
        let t1 = thread::spawn(move || q2.put_nowait(7).unwrap());
        let mut g = Probe::new(async move { q.get().await });
        let first = g.poll();
        t1.join().unwrap();
        assert_eq!(g.settle(first), Ok(7));
    });
}

// The mirror: a get from a full queue races a putter's first poll. Either the putter puts at
// once, or it is woken for the room the get made.
#[test]
fn get_races_a_putter_queueing() {
    loom::model(|| {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let (q2, q3) = (q.clone(), q.clone());
        let t1 = thread::spawn(move || q2.get_nowait().unwrap());
        let mut p = Probe::new(async move { q3.put(2).await });
        let first = p.poll();
        assert_eq!(t1.join().unwrap(), 1);
        p.settle(first).unwrap();
        assert_eq!(q.get_nowait(), Ok(2));
    });
}

// Two puts from two threads, two queued getters: each put wakes one getter (asyncio wakes
// one getter per item), so both getters get an item.
#[test]
fn two_puts_wake_two_getters() {
    loom::model(|| {
        let q = Queue::new(0);
        let (qa, qb) = (q.clone(), q.clone());
        let mut a = Probe::new(async move { qa.get().await });
        let mut b = Probe::new(async move { qb.get().await });
        a.pending();
        b.pending();
        let (q1, q2) = (q.clone(), q.clone());
        let t1 = thread::spawn(move || q1.put_nowait(1).unwrap());
        let t2 = thread::spawn(move || q2.put_nowait(2).unwrap());
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(a.woken() && b.woken());
        let mut got = [a.ready().unwrap(), b.ready().unwrap()];
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

// shutdown races a putter's first poll on a full queue: the putter fails (item given back)
// either at once or after being woken; it never sleeps through the shutdown.
#[test]
fn shutdown_races_a_putter_queueing() {
    loom::model(|| {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let q1 = q.clone();
        let t1 = thread::spawn(move || q1.shutdown(false));
        let mut p = Probe::new(async move { q.put(5).await });
        let first = p.poll();
        t1.join().unwrap();
        let res = p.settle(first);
        assert_eq!(res.map_err(|e| e.0), Err(5));
    });
}

// Two gets from two threads, two queued putters on a full queue: each get wakes one putter,
// so both put.
#[test]
fn two_gets_wake_two_putters() {
    loom::model(|| {
        let q = Queue::new(2);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let (qa, qb) = (q.clone(), q.clone());
        let mut a = Probe::new(async move { qa.put(3).await });
        let mut b = Probe::new(async move { qb.put(4).await });
        a.pending();
        b.pending();
        let (q1, q2) = (q.clone(), q.clone());
        let t1 = thread::spawn(move || q1.get_nowait().unwrap());
        let t2 = thread::spawn(move || q2.get_nowait().unwrap());
        let mut got = [t1.join().unwrap(), t2.join().unwrap()];
        got.sort();
        assert_eq!(got, [1, 2]);
        assert!(a.woken() && b.woken());
        a.ready().unwrap();
        b.ready().unwrap();
        assert_eq!((q.get_nowait(), q.get_nowait()), (Ok(3), Ok(4)));
    });
}

// The mutex-guarded stores run the same protocol: a put on a LifoQueue races a getter's
// first poll, and the getter is never left asleep with the item in the queue.
#[test]
fn lifo_put_races_a_getter_queueing() {
    loom::model(|| {
        let q = LifoQueue::new(0);
        let q2 = q.clone();
        let t1 = thread::spawn(move || q2.put_nowait(7).unwrap());
        let mut g = Probe::new(async move { q.get().await });
        let first = g.poll();
        t1.join().unwrap();
        assert_eq!(g.settle(first), Ok(7));
    });
}
