//! Queue basics: ordering of the three kinds, sizes, nowait errors (CPython
//! test_queues.QueueBasicTests, LifoQueueTests, PriorityQueueTests).

mod common;

use common::Probe;
use tower_sync::error::{QueueEmpty, QueueFull, TryGetError, TryPutError};
use tower_sync::{LifoQueue, PriorityQueue, Queue};

// QueueBasicTests.test_order (FIFO).
#[test]
fn fifo_order() {
    let q = Queue::new(0);
    for i in [1, 3, 2] {
        q.put_nowait(i).unwrap();
    }
    let got: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(got, [1, 3, 2]);
}

// LifoQueueTests.test_order.
#[test]
fn lifo_order() {
    let q = LifoQueue::new(0);
    for i in [1, 3, 2] {
        q.put_nowait(i).unwrap();
    }
    let got: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(got, [2, 3, 1]);
}

// PriorityQueueTests.test_order.
#[test]
fn priority_order() {
    let q = PriorityQueue::new(0);
    for i in [5, 1, 4, 2, 3, 1] {
        q.put_nowait(i).unwrap();
    }
    let got: Vec<_> = (0..6).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(got, [1, 1, 2, 3, 4, 5]);
}

// QueueBasicTests.test_maxsize / test_full / test_empty.
#[test]
fn maxsize_full_empty() {
    let q = Queue::new(2);
    assert_eq!(q.maxsize(), 2);
    assert!(q.empty() && !q.full());
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    assert!(q.full());
    assert_eq!(q.qsize(), 2);
    assert!(!Queue::<u8>::unbounded().full());
}

// QueuePutTests.test_nonblocking_put_exception / QueueGetTests.test_nonblocking_get_exception.
#[test]
fn nowait_errors() {
    let q = Queue::new(1);
    assert_eq!(q.get_nowait(), Err(TryGetError::Empty(QueueEmpty)));
    q.put_nowait(1).unwrap();
    assert_eq!(q.put_nowait(2), Err(TryPutError::Full(QueueFull(2))));
}

// QueueGetTests.test_blocking_get / QueuePutTests.test_blocking_put: awaits complete at once
// when they can.
#[test]
fn put_and_get_without_waiting() {
    let q = Queue::new(1);
    Probe::new(q.put(7)).ready().unwrap();
    assert_eq!(Probe::new(q.get()).ready(), Ok(7));
}

// Clones are handles to the same queue.
#[test]
fn clones_share_the_queue() {
    let q = Queue::new(0);
    let q2 = q.clone();
    q.put_nowait(1).unwrap();
    assert_eq!(q2.get_nowait(), Ok(1));
}

// Blocking forms from threads.
#[test]
fn blocking_put_and_get_across_threads() {
    let q = Queue::new(1);
    let q2 = q.clone();
    let t = std::thread::spawn(move || {
        for i in 0..100 {
            q2.put_blocking(i).unwrap();
        }
    });
    let got: Vec<_> = (0..100).map(|_| q.get_blocking().unwrap()).collect();
    t.join().unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

// QueueBasicTests.test_maxsize with a bound too large to allocate up front: the queue still
// holds exactly `maxsize` items, in FIFO order, and allocates only for what it holds.
#[test]
fn huge_maxsize_is_honoured_without_preallocating() {
    let q = Queue::new(usize::MAX / 2);
    assert_eq!(q.maxsize(), usize::MAX / 2);
    for i in 0..1000 {
        q.put_nowait(i).unwrap();
    }
    assert!(!q.full());
    assert_eq!(q.qsize(), 1000);
    let got: Vec<_> = (0..1000).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    // A bound just over the ring's budget behaves like any other.
    let q = Queue::new(1 << 17);
    for i in 0..(1 << 17) {
        q.put_nowait(i).unwrap();
    }
    assert!(q.full());
    assert!(matches!(q.put_nowait(0), Err(TryPutError::Full(_))));
    assert_eq!(q.get_nowait(), Ok(0));
}

// QueuePutTests.test_nonblocking_put_exception, then _QueueJoinTestMixin.test_task_done_underflow:
// a put refused for lack of room leaves no unfinished task behind.
#[test]
fn refused_put_is_not_unfinished() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    assert!(matches!(
        q.put_nowait(2),
        Err(TryPutError::Full(QueueFull(2)))
    ));
    assert_eq!(q.get_nowait(), Ok(1));
    q.task_done().unwrap();
    assert!(q.task_done().is_err());
    q.join_blocking();
}

// Many producer threads, one consumer thread, a small bound (every path: waiting putters,
// waiting getter, both queued at once): every item arrives once, each producer's in order.
#[test]
fn producers_and_consumer_on_threads_lose_nothing() {
    const PRODUCERS: usize = 4;
    const PER: usize = 2000;
    let q = Queue::new(4);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let q = q.clone();
            std::thread::spawn(move || {
                for i in 0..PER {
                    q.put_blocking((p, i)).unwrap();
                }
            })
        })
        .collect();
    let mut next = [0; PRODUCERS];
    for _ in 0..PRODUCERS * PER {
        let (p, i) = q.get_blocking().unwrap();
        assert_eq!(i, next[p], "producer {p}'s items out of order");
        next[p] += 1;
        q.task_done().unwrap();
    }
    for t in producers {
        t.join().unwrap();
    }
    assert!(q.empty());
    q.join_blocking();
}
