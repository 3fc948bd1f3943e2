//! Cancelling the task that awaits a `wait`: asyncio's `wait` raises the cancellation at the
//! await at once and does not cancel the tasks it waits on (unlike `wait_for`). The shape of
//! CPython's `test_tasks.py` `test_cancel_blocking_wait_for` / `test_cancel_wait_for`, with
//! `wait`'s opposite outcome for the awaited task. Virtual time only.

use tower_task::error::TaskError;
use tower_task::{ReturnWhen, Task, TaskState, catch_cancel, sleep, spawn, wait};

mod common;
use common::{paused, secs};

/// A task that sleeps `s` seconds and returns `s`.
fn sleeper(s: u64) -> Task<u64> {
    spawn(async move {
        sleep(secs(s)).await;
        s
    })
}

// test_cancel_blocking_wait_for's shape with `wait` (no timeout): the awaiter is cancelled at
// once; the task it waited on is not told and runs to completion.
#[test]
fn cancelling_the_awaiter_raises_at_once_and_leaves_the_tasks_running() {
    let lp = paused();
    lp.run_until_complete(async {
        let tasks = vec![sleeper(5), sleeper(10)];
        let refs: Vec<_> = tasks.iter().map(|t| t.task_ref().clone()).collect();
        let awaiter = spawn(async move { wait(tasks, ReturnWhen::AllCompleted, None).await });
        sleep(secs(1)).await;
        awaiter.cancel_with("stop waiting");
        match awaiter.await {
            Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("stop waiting")),
            other => panic!("expected the awaiter cancelled, got {other:?}"),
        }
        // Resolved at once: the tasks still run, and nobody cancelled them.
        for r in &refs {
            assert!(!r.done());
            assert_eq!(r.cancelling(), 0);
        }
        sleep(secs(20)).await;
        assert!(refs.iter().all(|r| r.state() == TaskState::Finished));
    })
    .unwrap();
}

// test_cancel_wait_for's shape (with a timeout): a `wait` with a timeout pending is cancelled at
// once too; neither a split nor the timeout's partial result comes back.
#[test]
fn a_wait_with_a_timeout_is_cancelled_at_once_too() {
    let lp = paused();
    lp.run_until_complete(async {
        let task = sleeper(5);
        let r = task.task_ref().clone();
        let awaiter =
            spawn(
                async move { wait(vec![task], ReturnWhen::FirstCompleted, Some(secs(60))).await },
            );
        sleep(secs(1)).await;
        awaiter.cancel();
        assert!(awaiter.await.unwrap_err().is_cancelled());
        assert!(!r.done() && r.cancelling() == 0);
        sleep(secs(10)).await;
        assert_eq!(r.state(), TaskState::Finished);
    })
    .unwrap();
}

// asyncio: `try: await wait(tasks) except CancelledError: ...` — the cancellation is caught
// around the wait, and the tasks (kept by the caller) can still be awaited: here taken back
// from the borrowed `Wait`, or the wait awaited again.
#[test]
fn catch_cancel_around_a_borrowed_wait_then_the_tasks_are_still_there() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let awaiter = spawn(async {
                let mut w = wait(vec![sleeper(5), sleeper(3)], ReturnWhen::AllCompleted, None);
                let caught = catch_cancel(&mut w).await;
                let msg = caught.unwrap_err().message().map(str::to_owned);
                let mut total = 0;
                for t in w.into_tasks() {
                    total += t.await.unwrap();
                }
                (msg, total)
            });
            sleep(secs(1)).await;
            awaiter.cancel_with("interrupted");
            awaiter.await
        })
        .unwrap();
    assert_eq!(out.unwrap(), (Some("interrupted".to_owned()), 8));
}

// After catching the cancellation, the same `Wait` can be awaited again to completion.
#[test]
fn a_caught_wait_can_be_awaited_again() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let awaiter = spawn(async {
                let mut w = wait(vec![sleeper(5)], ReturnWhen::AllCompleted, None);
                assert!(catch_cancel(&mut w).await.is_err());
                let (mut done, pending) = w.await;
                assert!(pending.is_empty());
                done[0].result().unwrap().unwrap()
            });
            sleep(secs(1)).await;
            awaiter.cancel();
            awaiter.await
        })
        .unwrap();
    assert_eq!(out.unwrap(), 5);
}
