//! Loom models of a task's cancellation request on a real task header, through the
//! crate's loom shim: `cancel` (the request under the header's lock, then the wake-up) racing
//! the task's poll as it starts delivering the request, and racing `uncancel`.
//!
//! The header's methods are the ones `TaskRef::cancel`/`uncancel` and the task wrapper's poll
//! call (`tower_task::header_model`); the executor around them is a stand-in
//! (`loom_common::task::ModelTask`): async-task's "scheduled" bit, set by the wake-up, cleared
//! as a run begins. A lost request shows as `F_CANCEL` still set with no run due.
//!
//! asyncio has no threads here (its `cancel` runs on the loop's thread); these are the
//! invariants that let a cancel from another thread behave as one made between two steps.
#![cfg(loom)]

use loom::thread;
use tower_loop::EventLoop;

mod loom_common;
use loom_common::task::{ModelTask, msgs};

/// (a) A `cancel` from another thread while the task's poll starts delivering an earlier
/// request: the new request is delivered in that poll (its message with it) or stays flagged,
/// with a wake-up, for the next; never lost, and never delivered twice.
// test_tasks.py: test_cancel_with_message_then_future_result (the message is the one delivered),
// test_cancel_yield (a request made while the task runs is delivered at its next step).
#[test]
fn a_cancel_racing_the_poll_is_delivered_in_it_or_in_the_next() {
    loom::model(|| {
        let lp = EventLoop::new().unwrap();
        let task = ModelTask::new(&lp);
        assert!(task.cancel(Some("first")));

        let th = {
            let task = task.clone();
            thread::spawn(move || assert!(task.cancel(Some("second"))))
        };
        // The loop runs the task (woken by the first cancel) while the second is made.
        task.run(|_| {});
        th.join().unwrap();
        // The wake-up of a request made after the last run began.
        task.run(|_| {});

        let delivered = task.delivered();
        assert!(
            !task.header.cancel_pending(),
            "a request is flagged but no run is due: lost ({delivered:?})"
        );
        assert!(
            delivered == msgs(&["second"]) || delivered == msgs(&["first", "second"]),
            "delivered {delivered:?}"
        );
        assert_eq!(task.header.cancelling(), 2);
    });
}

/// (a2) Two threads cancel, each with its message, while the task is polled: both requests are
/// counted, none is left flagged, and the message delivered last is the latest request's (its
/// message replaced the other's under the same lock that flags it).
// test_tasks.py: test_cancel_with_message_then_future_result (the latest message is the one the
// task sees).
#[test]
fn cancels_from_two_threads_deliver_the_latest_message_last() {
    loom::model(|| {
        let lp = EventLoop::new().unwrap();
        let task = ModelTask::new(&lp);

        let threads: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|msg| {
                let task = task.clone();
                thread::spawn(move || assert!(task.cancel(Some(msg))))
            })
            .collect();
        task.run(|_| {});
        for th in threads {
            th.join().unwrap();
        }
        task.run(|_| {});

        let delivered = task.delivered();
        assert!(
            !task.header.cancel_pending(),
            "a request is flagged but no run is due: lost ({delivered:?})"
        );
        assert_eq!(task.header.cancelling(), 2);
        assert!(matches!(delivered.len(), 1 | 2), "delivered {delivered:?}");
        let latest = task.header.begin_delivery();
        assert_eq!(
            delivered.last().unwrap().as_deref(),
            latest.message(),
            "a stale message was delivered last: {delivered:?}"
        );
    });
}

/// (b) `cancel` racing `uncancel` from two threads, with no request before: the flag and the
/// count agree whichever goes first (a request is pending exactly while the count is not 0).
// test_tasks.py: test_cancelling / test_uncancel_basic (the count), test_uncancel_structured_blocks
// (uncancel to 0 clears the pending request).
#[test]
fn cancel_and_uncancel_keep_the_flag_and_the_count_in_step() {
    loom::model(|| {
        let lp = EventLoop::new().unwrap();
        let task = ModelTask::new(&lp);

        // The uncancel, which may only read, on the spawned thread: loom 0.7 does not reorder a
        // read on the main thread with a later read-then-write on another (it checks the write
        // against that thread's own read only), so this way round both orders are explored.
        let th = {
            let task = task.clone();
            thread::spawn(move || task.uncancel())
        };
        assert!(task.cancel(None));
        let left = th.join().unwrap();

        // Uncancel first: nothing to withdraw, the cancel stands; else it was withdrawn.
        assert_eq!(left, 0);
        let count = task.header.cancelling();
        assert!(count <= 1, "count {count}");
        assert_eq!(
            task.header.cancel_pending(),
            count == 1,
            "the flag and the count disagree (count {count})"
        );
        // A request that stands was woken for.
        assert!(count == 0 || task.scheduled());
    });
}

/// (b2) The same race over a pending request: one cancel more, one less, the request still
/// stands, flagged.
// test_tasks.py: test_cancelling / test_uncancel_basic.
#[test]
fn uncancel_racing_a_second_cancel_leaves_one_request_pending() {
    loom::model(|| {
        let lp = EventLoop::new().unwrap();
        let task = ModelTask::new(&lp);
        assert!(task.cancel(Some("first")));

        let th = {
            let task = task.clone();
            thread::spawn(move || assert!(task.cancel(Some("second"))))
        };
        let left = task.uncancel();
        th.join().unwrap();

        assert!(left <= 1, "left {left}");
        assert_eq!(task.header.cancelling(), 1);
        assert!(
            task.header.cancel_pending(),
            "the standing request lost its flag"
        );
    });
}

/// (c) The task catches each request it is delivered and uncancels (a catching scope that
/// handles the cancellation), while another thread cancels again: every request is delivered
/// or folded into one still counted (the count ends at 2 minus the deliveries, each of which
/// was uncancelled), and none is left flagged.
// test_tasks.py: test_uncancel_structured_blocks (catch, uncancel, go on; a later cancel is
// delivered again).
#[test]
fn a_task_uncancelling_what_it_caught_while_cancelled_again() {
    loom::model(|| {
        let lp = EventLoop::new().unwrap();
        let task = ModelTask::new(&lp);
        assert!(task.cancel(Some("first")));

        let th = {
            let task = task.clone();
            thread::spawn(move || assert!(task.cancel(Some("second"))))
        };
        let catch_and_uncancel = |t: &ModelTask| {
            t.uncancel();
        };
        task.run(catch_and_uncancel);
        th.join().unwrap();
        task.run(catch_and_uncancel);

        let delivered = task.delivered();
        assert!(
            !task.header.cancel_pending(),
            "a request is flagged but no run is due: lost ({delivered:?})"
        );
        assert!(
            delivered == msgs(&["second"]) || delivered == msgs(&["first", "second"]),
            "delivered {delivered:?}"
        );
        assert_eq!(
            task.header.cancelling() as usize + delivered.len(),
            2,
            "delivered {delivered:?}"
        );
    });
}
