//! `TaskGroup`: failures — abort on the first, collect them all. Ports of CPython's
//! `test_asyncio/test_taskgroups.py`. Virtual time only.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tower_task::error::{Failure, TaskError, TaskGroupError};
use tower_task::{LoopTaskOptions, TaskGroup, set_task_factory, sleep};

mod common;
use common::{DropFlag, flag, paused, secs};

// test_taskgroup_04: a failing child cancels its siblings, which are dropped without resuming.
#[test]
fn failing_child_cancels_siblings() {
    let lp = paused();
    let (dropped, resumed) = (flag(), flag());
    let (d, r2) = (dropped.clone(), resumed.clone());
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let sibling = tg
                .create_task(async move {
                    let _flag = DropFlag(d);
                    sleep(secs(10)).await;
                    r2.store(true, Ordering::SeqCst);
                    Ok(())
                })
                .unwrap();
            tg.create_task(async {
                sleep(secs(1)).await;
                Err::<(), _>("boom")
            })
            .unwrap();
            Ok(sibling)
        }))
        .unwrap();
    let err = r.unwrap_err();
    assert_eq!(err.errors, [Failure::Child("boom")]);
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!resumed.load(Ordering::SeqCst));
}

// test_cancel_children_on_child_error (runner_cancel): the body is cancelled too; suspended
// where nothing takes part in cancellation, it is dropped at that await and does not resume.
#[test]
fn failing_child_cancels_the_body() {
    let lp = paused();
    let (dropped, resumed) = (flag(), flag());
    let (d, r2) = (dropped.clone(), resumed.clone());
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let _flag = DropFlag(d);
            tg.create_task(async {
                sleep(secs(1)).await;
                Err::<(), _>("boom")
            })
            .unwrap();
            sleep(secs(10)).await;
            r2.store(true, Ordering::SeqCst);
            Ok(())
        }))
        .unwrap();
    assert!(r.is_err());
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!resumed.load(Ordering::SeqCst));
}

// test_cancel_children_on_child_error (three foo1 raising together): children failing in the
// same loop iteration are all collected (the abort happens when the parent next runs, as with
// asyncio's done callbacks).
#[test]
fn simultaneous_failures_are_all_collected() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            for name in ["a", "b", "c"] {
                tg.create_task(async move {
                    sleep(secs(1)).await;
                    Err::<(), _>(name)
                })
                .unwrap();
            }
            sleep(secs(10)).await;
            Ok(())
        }))
        .unwrap();
    let err = r.unwrap_err();
    assert_eq!(err.errors().copied().collect::<Vec<_>>(), ["a", "b", "c"]);
}

// test_taskgroup_09: the body's own error cancels the children; only the body's error is
// reported.
#[test]
fn body_error_cancels_children() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let mut handles = Vec::new();
            let r = TaskGroup::run(|tg| {
                let h = &mut handles;
                async move {
                    h.push(
                        tg.create_task(async {
                            sleep(secs(1)).await;
                            Ok(42)
                        })
                        .unwrap(),
                    );
                    h.push(
                        tg.create_task(async {
                            sleep(secs(2)).await;
                            Ok(11)
                        })
                        .unwrap(),
                    );
                    sleep(Duration::from_millis(100)).await;
                    Err::<(), _>("ZeroDivisionError")
                }
            })
            .await;
            assert!(handles.iter().all(|t| t.cancelled()));
            r
        })
        .unwrap();
    assert_eq!(r.unwrap_err().errors, [Failure::Body("ZeroDivisionError")]);
}

// test_taskgroup_19 (child and body fail together; its cancelled-body form is in
// taskgroup_body_cancel.rs): an eager child fails inside create_task and the body then returns
// Err in the same poll. Both are reported, child first.
#[test]
fn child_and_body_failing_together_are_both_reported() {
    let lp = paused();
    set_task_factory(&lp, Some(LoopTaskOptions::eager_task_factory()));
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            tg.create_task(async { Err::<(), _>("child") }).unwrap();
            Err::<(), _>("body")
        }))
        .unwrap();
    assert_eq!(
        r.unwrap_err().errors,
        [Failure::Child("child"), Failure::Body("body")]
    );
}

// test_taskgroup_21a (a BaseException in a child; here a panic): the group fails with the
// panic's message, and the child's own handle reports the panic.
#[test]
fn panicking_child_is_collected() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let mut handle = None;
            let r = TaskGroup::run(|tg| {
                handle = Some(
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        if true {
                            panic!("kaboom");
                        }
                        Ok::<(), ()>(())
                    })
                    .unwrap(),
                );
                async { Ok(()) }
            })
            .await;
            (r, handle.unwrap().await)
        })
        .unwrap();
    let (r, child) = r;
    assert_eq!(r.unwrap_err().errors, [Failure::Panic("kaboom".to_owned())]);
    assert!(child.unwrap_err().is_panic());
}

// No CPython counterpart: a failed child's handle gives Err(TaskError::Failed); its error went
// to the group.
#[test]
fn failed_child_handle_gives_failed() {
    let lp = paused();
    lp.run_until_complete(async {
        let mut handle = None;
        let r = TaskGroup::run(|tg| {
            handle = Some(tg.create_task(async { Err::<u8, _>("bad") }).unwrap());
            async { Ok(()) }
        })
        .await;
        assert!(r.is_err());
        let e = handle.unwrap().await.unwrap_err();
        assert!(matches!(e, TaskError::Failed), "{e:?}");
        assert!(e.is_failed());
    })
    .unwrap();
}

// No CPython counterpart: the ExceptionGroup-like message lists every failure.
#[test]
fn error_group_displays_every_failure() {
    let e = TaskGroupError {
        errors: vec![Failure::Child("a"), Failure::Panic("p".into())],
    };
    assert_eq!(
        e.to_string(),
        "unhandled errors in a TaskGroup (2 sub-errors): a task failed: a; a task panicked: p"
    );
}
