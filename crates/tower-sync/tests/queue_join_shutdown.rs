//! Queue `task_done`/`join` and 3.13 `shutdown` (CPython test_queues._QueueJoinTestMixin and
//! _QueueShutdownTestMixin).

mod common;

use common::Probe;
use tower_sync::Queue;
use tower_sync::error::{QueueShutDown, TaskDoneError, TryGetError, TryPutError};

// _QueueJoinTestMixin.test_task_done_underflow.
#[test]
fn task_done_too_often_fails() {
    let q = Queue::<u8>::new(0);
    assert_eq!(q.task_done(), Err(TaskDoneError));
}

// _QueueJoinTestMixin.test_task_done: join waits until every item is marked done.
#[test]
fn join_waits_for_every_task_done() {
    let q = Queue::new(0);
    for i in 0..3 {
        q.put_nowait(i).unwrap();
    }
    let mut join = Probe::new(q.join());
    join.pending();
    for _ in 0..3 {
        q.get_nowait().unwrap();
    }
    join.pending(); // taken, not done
    q.task_done().unwrap();
    q.task_done().unwrap();
    assert!(!join.woken());
    q.task_done().unwrap();
    assert!(join.woken());
    join.ready();
}

// _QueueJoinTestMixin.test_join_empty_queue.
#[test]
fn join_on_an_empty_queue_returns() {
    let q = Queue::<u8>::new(0);
    Probe::new(q.join()).ready();
}

// _QueueShutdownTestMixin.test_shutdown_empty: puts and gets fail at once.
#[test]
fn shutdown_empty_queue() {
    let q = Queue::new(0);
    q.shutdown(false);
    assert!(q.is_shutdown());
    assert_eq!(
        q.put_nowait(1),
        Err(TryPutError::ShutDown(QueueShutDown(1)))
    );
    assert_eq!(Probe::new(q.put(2)).ready(), Err(QueueShutDown(2)));
    assert_eq!(
        q.get_nowait(),
        Err(TryGetError::ShutDown(QueueShutDown(())))
    );
    assert_eq!(Probe::new(q.get()).ready(), Err(QueueShutDown(())));
}

// _QueueShutdownTestMixin.test_shutdown_nonempty: gets drain, then fail.
#[test]
fn shutdown_lets_gets_drain() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    q.shutdown(false);
    assert_eq!(Probe::new(q.get()).ready(), Ok(1));
    assert_eq!(Probe::new(q.get()).ready(), Err(QueueShutDown(())));
}

// _QueueShutdownTestMixin.test_shutdown_immediate: the queue is emptied and join returns.
#[test]
fn immediate_shutdown_empties_and_releases_join() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    let mut join = Probe::new(q.join());
    join.pending();
    q.shutdown(true);
    assert!(q.empty());
    assert!(join.woken());
    join.ready();
    assert_eq!(q.task_done(), Err(TaskDoneError));
}

// _QueueShutdownTestMixin.test_shutdown_immediate_with_unfinished: items already taken stay
// unfinished; join waits for their task_done.
#[test]
fn immediate_shutdown_keeps_taken_items_unfinished() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    q.get_nowait().unwrap();
    q.shutdown(true);
    let mut join = Probe::new(q.join());
    join.pending();
    q.task_done().unwrap();
    join.ready();
}

// _QueueShutdownTestMixin.test_shutdown_getters_deque: waiting getters are woken and fail.
#[test]
fn shutdown_wakes_waiting_getters() {
    let q = Queue::<u8>::new(0);
    let mut a = Probe::new(q.get());
    let mut b = Probe::new(q.get());
    a.pending();
    b.pending();
    q.shutdown(false);
    assert!(a.woken() && b.woken());
    assert_eq!(a.ready(), Err(QueueShutDown(())));
    assert_eq!(b.ready(), Err(QueueShutDown(())));
}

// _QueueShutdownTestMixin.test_shutdown_putters_deque: waiting putters are woken and fail,
// getting their items back.
#[test]
fn shutdown_wakes_waiting_putters() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let mut a = Probe::new(q.put(1));
    a.pending();
    q.shutdown(false);
    assert!(a.woken());
    assert_eq!(a.ready(), Err(QueueShutDown(1)));
    assert_eq!(q.get_nowait(), Ok(0));
}
