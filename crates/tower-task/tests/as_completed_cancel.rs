//! Cancelling the task that waits for `as_completed`'s next item: asyncio's `as_completed`
//! raises the cancellation at that await at once (its `_wait_for_one` awaits a queue) and does
//! not cancel the futures it was given. Scenarios in the shape of CPython's `test_tasks.py`
//! `test_as_completed*` tests, with the awaiter cancelled mid-way. Virtual time only.

use tower_coro::stream;
use tower_task::error::TaskError;
use tower_task::{TaskState, as_completed, catch_cancel, sleep, spawn};

mod common;
use common::{paused, secs};

// The next-item await raises at once; the tasks given to as_completed are not told and run on.
#[test]
fn cancelling_the_awaiter_of_the_next_item_raises_at_once_and_leaves_the_tasks_running() {
    let lp = paused();
    lp.run_until_complete(async {
        let tasks = [5u64, 10].map(|s| {
            spawn(async move {
                sleep(secs(s)).await;
                s
            })
        });
        let refs: Vec<_> = tasks.iter().map(|t| t.task_ref().clone()).collect();
        let awaiter = spawn(async move {
            let mut s = as_completed(tasks);
            stream::next(&mut s).await
        });
        sleep(secs(1)).await;
        awaiter.cancel_with("stop");
        match awaiter.await {
            Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("stop")),
            other => panic!("expected the awaiter cancelled, got {other:?}"),
        }
        for r in &refs {
            assert!(!r.done());
            assert_eq!(r.cancelling(), 0);
        }
        sleep(secs(20)).await;
        assert!(refs.iter().all(|r| r.state() == TaskState::Finished));
    })
    .unwrap();
}

// asyncio: `try: await next_item except CancelledError: ...` — caught around the next-item
// await, the stream is intact and yields the rest in completion order.
#[test]
fn a_caught_cancellation_leaves_the_stream_to_go_on() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let awaiter = spawn(async {
                let tasks = [3u64, 2].map(|s| {
                    spawn(async move {
                        sleep(secs(s)).await;
                        s
                    })
                });
                let mut s = as_completed(tasks);
                let caught = catch_cancel(stream::next(&mut s)).await;
                assert_eq!(caught.unwrap_err().message(), Some("once"));
                let mut order = Vec::new();
                while let Some(out) = stream::next(&mut s).await {
                    order.push(out.unwrap());
                }
                order
            });
            sleep(secs(1)).await;
            awaiter.cancel_with("once");
            awaiter.await
        })
        .unwrap();
    assert_eq!(out.unwrap(), [2, 3]);
}

// The same with an overall deadline (test_as_completed_with_timeout's stream): the awaiter's
// cancellation is raised at once, not turned into the deadline's TimeoutError, and the tasks
// run on.
#[test]
fn the_timed_stream_raises_the_cancellation_at_once_too() {
    let lp = paused();
    lp.run_until_complete(async {
        let task = spawn(async {
            sleep(secs(5)).await;
            5
        });
        let r = task.task_ref().clone();
        let awaiter = spawn(async move {
            let mut s = as_completed([task]).with_timeout(secs(60));
            stream::next(&mut s).await
        });
        sleep(secs(1)).await;
        awaiter.cancel();
        assert!(awaiter.await.unwrap_err().is_cancelled());
        assert!(!r.done() && r.cancelling() == 0);
        sleep(secs(10)).await;
        assert_eq!(r.state(), TaskState::Finished);
    })
    .unwrap();
}

// The futures are polled with nothing in flight: even when one of them is woken in the same
// loop iteration as the request, an aware await inside it (here a task handle) never takes the
// awaiter's cancellation, so the task behind it is not cancelled through the stream. (The
// awaiter also awaits another task in the same `join`, so that the request is delivered
// through its poll whatever the stream does.)
#[test]
fn a_future_woken_with_the_request_does_not_take_it() {
    let lp = paused();
    lp.run_until_complete(async {
        let inner = spawn(async {
            sleep(secs(5)).await;
            "inner done"
        });
        let inner_ref = inner.task_ref().clone();
        let other = spawn(sleep(secs(50)));
        let awaiter = spawn(async move {
            let mut s = as_completed([async move {
                sleep(secs(1)).await; // fires in the iteration in which the awaiter is cancelled
                inner.await
            }]);
            tower_coro::join(stream::next(&mut s), other).await
        });
        sleep(secs(1)).await;
        awaiter.cancel_with("not for the inner task");
        assert!(awaiter.await.unwrap_err().is_cancelled());
        assert_eq!(inner_ref.cancelling(), 0);
        sleep(secs(10)).await;
        assert_eq!(inner_ref.state(), TaskState::Finished);
    })
    .unwrap();
}
