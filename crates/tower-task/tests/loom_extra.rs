//! Loom models of a task header's lazily allocated part (`Extra`: name, cancel message and
//! count, done callbacks) on a real header, through the crate's loom shim: its first
//! allocation raced from two threads, and done callbacks added while the task finishes.
//!
//! Under loom every `Extra` carries a loom-tracked probe, so an `Extra` that is never freed (a
//! racing allocator's loser, or the header's own) fails the model as a leak.
#![cfg(loom)]

use loom::sync::{Arc, Mutex};
use loom::thread;
use tower_loop::EventLoop;
use tower_task::header_model::ModelHeader;

mod loom_common;
use loom_common::task::{Log, Logged};

/// (a) Two threads' first uses of the header's `Extra` (a `cancel` and an
/// `add_done_callback`) race to allocate it: both get the same mutex, each sees the other's
/// write, and the losing allocation is freed.
// No test_asyncio counterpart (asyncio's task keeps these as plain attributes under the GIL).
#[test]
fn racing_first_uses_of_the_extra_share_one_allocation() {
    loom::model(|| {
        let lp = EventLoop::new().unwrap();
        let h = Arc::new(ModelHeader::new(&lp));
        let log: Log = Arc::new(Mutex::new(Vec::new()));

        let th = {
            let h = h.clone();
            thread::spawn(move || {
                let addr = h.extra_addr();
                assert!(h.request_cancel(Some("stop")));
                addr
            })
        };
        let mine = h.extra_addr();
        assert!(!h.add_done_callback(Logged::new(1, &log)));
        let theirs = th.join().unwrap();

        assert_eq!(mine, theirs, "two threads locked different Extra mutexes");
        assert_eq!(h.cancelling(), 1);
        assert!(h.cancel_pending());
        assert_eq!(h.held_callbacks(), 1);
        assert_eq!(h.begin_delivery().message(), Some("stop"));
    });
}

/// (b) A done callback added on another thread while the task finishes runs exactly once:
/// `finish` hands it out (it was added before) or `add_done_callback` does (the task was done),
/// never both, never neither.
// test_futures.py: test_schedule_callbacks_early on a task (a callback added after done is
// scheduled at once); test_tasks.py: test_task_done_callbacks.
#[test]
fn a_done_callback_racing_finish_is_scheduled_exactly_once() {
    loom::model(|| {
        let lp = EventLoop::new().unwrap();
        let h = Arc::new(ModelHeader::new(&lp));
        let log: Log = Arc::new(Mutex::new(Vec::new()));

        let th = {
            let (h, log) = (h.clone(), log.clone());
            thread::spawn(move || h.add_done_callback(Logged::new(1, &log)))
        };
        let by_finish = h.finish();
        let at_once = th.join().unwrap();

        assert_eq!(
            by_finish + usize::from(at_once),
            1,
            "finish {by_finish}, at once {at_once}"
        );
        assert_eq!(*log.lock().unwrap(), [1]);
        assert_eq!(h.held_callbacks(), 0, "a callback was left behind");
    });
}

/// (c) Callbacks added before and during the finish, from two threads: each is handed out
/// once, the one added before first — also when the other is added just after the task is
/// done, while `finish` is handing callbacks out (it queues behind them).
// test_tasks.py: test_task_done_callbacks (every callback runs once, in the order added).
#[test]
fn done_callbacks_added_before_and_during_finish_are_scheduled_once_in_order() {
    loom::model(|| {
        let lp = EventLoop::new().unwrap();
        let h = Arc::new(ModelHeader::new(&lp));
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        assert!(!h.add_done_callback(Logged::new(0, &log)));

        let th = {
            let (h, log) = (h.clone(), log.clone());
            thread::spawn(move || h.add_done_callback(Logged::new(1, &log)))
        };
        let by_finish = h.finish();
        let at_once = th.join().unwrap();

        assert_eq!(
            by_finish + usize::from(at_once),
            2,
            "finish {by_finish}, at once {at_once}"
        );
        assert_eq!(*log.lock().unwrap(), [0, 1], "handed out out of order");
        assert_eq!(h.held_callbacks(), 0, "a callback was left behind");
    });
}
