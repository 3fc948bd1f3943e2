//! `TaskGroup`s nested in one parent task: each counts and withdraws its own cancellation
//! request, an inner group's error is the outer body's failure, and a cancellation reaches
//! the innermost group first. Ports of CPython's `test_asyncio/test_taskgroups.py`. Virtual
//! time only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tower_task::error::{Failure, TaskGroupError};
use tower_task::{TaskGroup, catch_cancel, current_task, reraise, sleep, spawn};

mod common;
use common::{DropFlag, flag, paused, secs};

/// The errors of these tests: a child's value, or an inner group's error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Error {
    Value(u64),
    Runtime,
    Group(TaskGroupError<Error>),
}

/// A child that sleeps `t` seconds then fails with `Value(t)` (the tests' `crash_after`).
async fn crash_after(t: u64) -> Result<(), Error> {
    sleep(secs(t)).await;
    Err(Error::Value(t))
}

/// The running task's `cancelling()` count.
fn cancelling() -> u32 {
    current_task().expect("inside a task").cancelling()
}

// test_taskgroup_14: the inner group's child fails first; the inner group's error is the
// outer body's failure, and the outer group's own child is cancelled.
#[test]
fn inner_failure_is_the_outer_body_s_failure() {
    let lp = paused();
    let outer_child_dropped = flag();
    let d = outer_child_dropped.clone();
    let (r, left) = lp
        .run_until_complete(async move {
            spawn(async move {
                let r = TaskGroup::run(|g1| async move {
                    g1.create_task(async move {
                        let _flag = DropFlag(d);
                        crash_after(10).await
                    })
                    .unwrap();
                    TaskGroup::run(|g2| async move {
                        g2.create_task(crash_after(1)).unwrap();
                        Ok(())
                    })
                    .await
                    .map_err(Error::Group)
                })
                .await;
                (r, cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    let inner = TaskGroupError {
        errors: vec![Failure::Child(Error::Value(1))],
    };
    assert_eq!(r.unwrap_err().errors, [Failure::Body(Error::Group(inner))]);
    assert!(outer_child_dropped.load(Ordering::SeqCst));
    assert_eq!(left, 0);
}

// test_taskgroup_13: the outer group's child fails first: its request reaches the inner
// group (joining), which takes it as a cancellation from outside, cancels its own child and
// raises it on; the outer group catches it as its own and reports the failure only.
#[test]
fn outer_failure_cancels_the_inner_group() {
    let lp = paused();
    let inner_child_dropped = flag();
    let d = inner_child_dropped.clone();
    let (r, left) = lp
        .run_until_complete(async move {
            spawn(async move {
                let r = TaskGroup::run(|g1| async move {
                    g1.create_task(crash_after(1)).unwrap();
                    TaskGroup::run(|g2| async move {
                        g2.create_task(async move {
                            let _flag = DropFlag(d);
                            crash_after(10).await
                        })
                        .unwrap();
                        Ok(())
                    })
                    .await
                    .map_err(Error::Group)
                })
                .await;
                (r, cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r.unwrap_err().errors, [Failure::Child(Error::Value(1))]);
    assert!(inner_child_dropped.load(Ordering::SeqCst));
    assert_eq!(left, 0);
}

// test_nested_groups_both_cancelled: both groups' children fail together; the inner group's
// error is caught in the outer body, where `cancelling()` is 1; after the outer group it is
// 0, and the outer group reports its own child's error.
#[test]
fn nested_groups_both_failing() {
    let lp = paused();
    let (r, inner_seen, left) = lp
        .run_until_complete(async {
            spawn(async {
                let inner_seen = Arc::new(std::sync::Mutex::new(None));
                let seen = inner_seen.clone();
                let r = TaskGroup::run(|outer| async move {
                    let inner = TaskGroup::run(|inner_tg| async move {
                        inner_tg
                            .create_task(async { Err::<(), _>(Error::Runtime) })
                            .unwrap();
                        outer
                            .create_task(async { Err::<(), _>(Error::Value(0)) })
                            .unwrap();
                        Ok(())
                    })
                    .await;
                    *seen.lock().unwrap() = Some((inner, cancelling()));
                    Ok(())
                })
                .await;
                let inner_seen = inner_seen.lock().unwrap().take();
                (r, inner_seen, cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    let (inner, count) = inner_seen.unwrap();
    assert_eq!(inner.unwrap_err().errors, [Failure::Child(Error::Runtime)]);
    assert_eq!(count, 1, "inside the outer group, after the inner one");
    assert_eq!(r.unwrap_err().errors, [Failure::Child(Error::Value(0))]);
    assert_eq!(left, 0);
}

// test_taskgroup_12: the parent is cancelled from outside while nested groups run: the
// request reaches the innermost body, which re-raises it; each group cancels its children,
// waits for them and raises it on; the parent ends cancelled.
#[test]
fn outside_cancel_goes_through_nested_groups() {
    let lp = paused();
    let dropped = (flag(), flag());
    let (d1, d2) = (dropped.0.clone(), dropped.1.clone());
    let caught = Arc::new(AtomicBool::new(false));
    let c = caught.clone();
    let out = lp
        .run_until_complete(async move {
            let r = spawn(TaskGroup::run(move |g1| async move {
                g1.create_task(async move {
                    let _flag = DropFlag(d1);
                    sleep(secs(10)).await;
                    Ok(())
                })
                .unwrap();
                TaskGroup::run(move |g2| async move {
                    g2.create_task(async move {
                        let _flag = DropFlag(d2);
                        crash_after(5).await
                    })
                    .unwrap();
                    if let Err(cancelled) = catch_cancel(sleep(secs(10))).await {
                        c.store(true, Ordering::SeqCst);
                        return reraise(cancelled).await;
                    }
                    Ok(())
                })
                .await
                .map_err(Error::Group)
            }));
            sleep(secs(1)).await;
            r.cancel_with("stop");
            r.await
        })
        .unwrap();
    match out {
        Err(tower_task::error::TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("stop")),
        other => panic!("{other:?}"),
    }
    assert!(caught.load(Ordering::SeqCst));
    assert!(dropped.0.load(Ordering::SeqCst) && dropped.1.load(Ordering::SeqCst));
}
