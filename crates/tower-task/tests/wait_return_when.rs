//! `wait`: ports of CPython's `test_tasks.py` `test_wait*` scenarios (FIRST_COMPLETED,
//! FIRST_EXCEPTION, ALL_COMPLETED, with timeout). Virtual time only.

use tower_task::{ReturnWhen, Task, sleep, spawn, wait};

mod common;
use common::{paused, secs};

fn sleeper(s: u64) -> Task<u64> {
    spawn(async move {
        sleep(secs(s)).await;
        s
    })
}

fn values(tasks: Vec<Task<u64>>) -> Vec<u64> {
    tasks
        .into_iter()
        .map(|mut t| t.result().unwrap().unwrap())
        .collect()
}

// test_wait: ALL_COMPLETED returns every task done.
#[test]
fn all_completed_waits_for_all() {
    let lp = paused();
    let (done, pending) = lp
        .run_until_complete(async {
            wait(
                vec![sleeper(1), sleeper(3), sleeper(2)],
                ReturnWhen::AllCompleted,
                None,
            )
            .await
        })
        .unwrap();
    assert!(pending.is_empty());
    assert_eq!(values(done), [1, 3, 2]);
}

// test_wait_first_completed: returns as soon as one is done; the others are still pending and
// not cancelled.
#[test]
fn first_completed_returns_after_one() {
    let lp = paused();
    lp.run_until_complete(async {
        let (done, pending) = wait(
            vec![sleeper(5), sleeper(1), sleeper(9)],
            ReturnWhen::FirstCompleted,
            None,
        )
        .await;
        assert_eq!(values(done), [1]);
        assert_eq!(pending.len(), 2);
        assert!(pending.iter().all(|t| !t.done() && !t.cancelled()));
        // They run on.
        let (done, pending) = wait(pending, ReturnWhen::AllCompleted, None).await;
        assert!(pending.is_empty());
        assert_eq!(values(done), [5, 9]);
    })
    .unwrap();
}

// test_wait_first_exception_in_wait: returns as soon as one task raises (here: panics) while
// waiting; a task that merely finished first does not end a FIRST_EXCEPTION wait.
#[test]
fn first_exception_returns_on_a_panic() {
    let lp = paused();
    lp.run_until_complete(async {
        let bad = spawn(async {
            sleep(secs(2)).await;
            if true {
                panic!("raised");
            }
            0
        });
        let (done, pending) = wait(
            vec![sleeper(10), bad, sleeper(1)],
            ReturnWhen::FirstException,
            None,
        )
        .await;
        // sleeper(1) finished first but is not an exception; the panic at 2 s ends the wait.
        assert_eq!(done.len(), 2);
        assert_eq!(pending.len(), 1);
        for t in pending {
            t.cancel();
        }
    })
    .unwrap();
}

// asyncio's wait docs (FIRST_EXCEPTION with no exception is ALL_COMPLETED); the shape of
// test_wait_with_exception without the exception.
#[test]
fn first_exception_without_exception_waits_for_all() {
    let lp = paused();
    let (done, pending) = lp
        .run_until_complete(async {
            wait(
                vec![sleeper(1), sleeper(2)],
                ReturnWhen::FirstException,
                None,
            )
            .await
        })
        .unwrap();
    assert!(pending.is_empty());
    assert_eq!(values(done), [1, 2]);
}

// test_wait_with_timeout: the timeout returns what is done so far; nothing is cancelled.
#[test]
fn timeout_returns_partial_split() {
    let lp = paused();
    lp.run_until_complete(async {
        let (done, pending) = wait(
            vec![sleeper(1), sleeper(10), sleeper(2)],
            ReturnWhen::AllCompleted,
            Some(secs(5)),
        )
        .await;
        assert_eq!(values(done), [1, 2]);
        assert_eq!(pending.len(), 1);
        assert!(!pending[0].cancelled());
        pending[0].cancel();
    })
    .unwrap();
}

// test_wait_with_timeout (FIRST_COMPLETED, the timeout first): nothing done, nothing cancelled.
#[test]
fn first_completed_with_timeout_may_return_nothing_done() {
    let lp = paused();
    lp.run_until_complete(async {
        let (done, pending) =
            wait(vec![sleeper(10)], ReturnWhen::FirstCompleted, Some(secs(1))).await;
        assert!(done.is_empty());
        assert_eq!(pending.len(), 1);
        pending[0].cancel();
    })
    .unwrap();
}

// test_wait ("doing it again should take no time"): tasks already done return at once.
#[test]
fn already_done_tasks_return_at_once() {
    let lp = paused();
    lp.run_until_complete(async {
        let t = sleeper(0);
        sleep(secs(1)).await;
        assert!(t.done());
        let (done, pending) = wait(vec![t], ReturnWhen::FirstCompleted, None).await;
        assert_eq!(values(done), [0]);
        assert!(pending.is_empty());
    })
    .unwrap();
}

// test_wait_first_exception: a task that has already raised ends a FIRST_EXCEPTION wait at once.
#[test]
fn first_exception_already_raised_returns_at_once() {
    let lp = paused();
    lp.run_until_complete(async {
        let bad = spawn(async {
            if true {
                panic!("err");
            }
            0
        });
        sleep(secs(1)).await;
        assert!(bad.done());
        let (done, pending) = wait(vec![bad, sleeper(10)], ReturnWhen::FirstException, None).await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        pending[0].cancel();
    })
    .unwrap();
}
