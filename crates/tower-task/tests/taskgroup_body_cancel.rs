//! `TaskGroup`: a child's failure cancels the *body* as asyncio does — the group requests the
//! parent task's cancellation, which is delivered where the body is suspended; the body can
//! catch it, await cleanup, and re-raise or return. Ports of CPython's
//! `test_asyncio/test_taskgroups.py`. Virtual time only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tower_task::error::{Failure, TaskError};
use tower_task::{TaskGroup, catch_cancel, current_task, reraise, sleep, spawn};

mod common;
use common::{flag, paused, secs};

/// The running task's `cancelling()` count.
fn cancelling() -> u32 {
    current_task().expect("inside a task").cancelling()
}

// test_cancel_children_on_child_error (runner_cancel, t2_cancel, NUM == 0): the body catches
// the group's cancellation, awaits its cleanup and re-raises; the sibling catches its own and
// re-raises; neither goes on past its await; the group reports the child's error only.
#[test]
fn body_catches_awaits_cleanup_and_reraises() {
    let lp = paused();
    let (body_caught, sibling_caught, cleanup_done) = (flag(), flag(), flag());
    let resumed = Arc::new(AtomicU32::new(0));
    let (b, s, c, n) = (
        body_caught.clone(),
        sibling_caught.clone(),
        cleanup_done.clone(),
        resumed.clone(),
    );
    let (errors, seen_inside, after) = lp
        .run_until_complete(async move {
            spawn(async move {
                let seen = Arc::new(AtomicU32::new(99));
                let seen2 = seen.clone();
                let r = TaskGroup::run(|tg| async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<(), _>("ZeroDivisionError")
                    })
                    .unwrap();
                    let n2 = n.clone();
                    tg.create_task(async move {
                        match catch_cancel(sleep(secs(5))).await {
                            Err(c) => {
                                s.store(true, Ordering::SeqCst);
                                reraise(c).await
                            }
                            Ok(()) => {
                                n2.fetch_add(1, Ordering::SeqCst);
                                Ok(())
                            }
                        }
                    })
                    .unwrap();
                    match catch_cancel(sleep(secs(10))).await {
                        Err(cancelled) => {
                            b.store(true, Ordering::SeqCst);
                            seen2.store(cancelling(), Ordering::SeqCst);
                            sleep(secs(1)).await; // cleanup that awaits
                            c.store(true, Ordering::SeqCst);
                            reraise(cancelled).await
                        }
                        Ok(()) => {
                            n.fetch_add(10, Ordering::SeqCst);
                            Ok(())
                        }
                    }
                })
                .await;
                (
                    r.unwrap_err().errors,
                    seen.load(Ordering::SeqCst),
                    cancelling(),
                )
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(errors, [Failure::Child("ZeroDivisionError")]);
    assert!(body_caught.load(Ordering::SeqCst));
    assert!(sibling_caught.load(Ordering::SeqCst));
    assert!(
        cleanup_done.load(Ordering::SeqCst),
        "the group waited for the body's cleanup"
    );
    assert_eq!(resumed.load(Ordering::SeqCst), 0);
    // test_taskgroup_cancelling / test_cancelling_level_preserved: the group's own request
    // counts inside the body and is withdrawn when the group ends.
    assert_eq!(seen_inside, 1);
    assert_eq!(after, 0);
}

// test_taskgroup_04 with the body handling the cancellation: the body catches it and returns
// normally; the group still reports the child's error, and the parent goes on uncancelled
// (test_cancellation_does_not_leak_out_of_tg: it can still await after the group).
#[test]
fn body_catches_and_returns_normally() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            spawn(async {
                let r = TaskGroup::run(|tg| async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<(), _>("boom")
                    })
                    .unwrap();
                    let caught = catch_cancel(sleep(secs(10))).await.is_err();
                    Ok::<_, &str>(caught)
                })
                .await;
                let goes_on = catch_cancel(sleep(secs(1))).await.is_ok();
                (r, goes_on, cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    let (r, goes_on, left) = out;
    assert_eq!(r.unwrap_err().errors, [Failure::Child("boom")]);
    assert!(goes_on, "no cancellation leaks out of the group");
    assert_eq!(left, 0);
}

// test_taskgroup_19 (the body raises while being cancelled): the body catches the group's
// cancellation and returns its own error; both the child's and the body's are reported,
// the child's first.
#[test]
fn body_error_after_the_abort_is_reported_with_the_child_s() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            spawn(TaskGroup::run(|tg| async move {
                tg.create_task(async {
                    sleep(secs(1)).await;
                    Err::<(), _>("ZeroDivisionError")
                })
                .unwrap();
                match catch_cancel(sleep(secs(10))).await {
                    Err(_) => Err("MyExc"),
                    Ok(()) => Ok(()),
                }
            }))
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(
        r.unwrap_err().errors,
        [Failure::Child("ZeroDivisionError"), Failure::Body("MyExc")]
    );
}

// The request goes to the body's innermost aware await: a task the body awaits is cancelled
// in turn and waited for; here it handles the cancellation and returns a value, which the
// body's await gets (asyncio: the awaited task swallows CancelledError and returns).
#[test]
fn an_awaited_task_in_the_body_receives_the_group_s_cancellation() {
    let lp = paused();
    let got = flag();
    let g = got.clone();
    let (r, left) = lp
        .run_until_complete(async move {
            spawn(async move {
                let worker = spawn(async {
                    match catch_cancel(sleep(secs(100))).await {
                        Ok(()) => "slept",
                        Err(_) => {
                            sleep(secs(1)).await; // its cleanup is awaited
                            "cleaned up"
                        }
                    }
                });
                let r = TaskGroup::run(|tg| async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<(), _>("boom")
                    })
                    .unwrap();
                    let out = worker.await.unwrap();
                    g.store(out == "cleaned up", Ordering::SeqCst);
                    Ok(out)
                })
                .await;
                (r, cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert!(
        got.load(Ordering::SeqCst),
        "the body's await got the worker's value"
    );
    assert_eq!(r.unwrap_err().errors, [Failure::Child("boom")]);
    assert_eq!(left, 0);
}

// test_taskgroup_04 (NUM += 10 after the group never runs because the ExceptionGroup
// propagates; here the error is a value): a body suspended where nothing takes part in
// cancellation is dropped at its await, and does not resume.
#[test]
fn body_with_nothing_aware_is_dropped_at_its_await() {
    let lp = paused();
    let resumed = flag();
    let r2 = resumed.clone();
    let r = lp
        .run_until_complete(async move {
            spawn(TaskGroup::run(|tg| async move {
                tg.create_task(async {
                    sleep(secs(1)).await;
                    Err::<(), _>("boom")
                })
                .unwrap();
                sleep(secs(10)).await;
                r2.store(true, Ordering::SeqCst);
                Ok(())
            }))
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r.unwrap_err().errors, [Failure::Child("boom")]);
    assert!(!resumed.load(Ordering::SeqCst));
}

// A body awaiting one of the group's own children when a sibling fails: the child is
// cancelled by the abort and the request passed on to it; the cancellation raised out of the
// child's await ends the body; the group reports the failure only.
#[test]
fn body_awaiting_a_child_when_a_sibling_fails() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            spawn(async {
                let r = TaskGroup::run(|tg| async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<(), _>("boom")
                    })
                    .unwrap();
                    let long = tg
                        .create_task(async {
                            sleep(secs(100)).await;
                            Ok(1)
                        })
                        .unwrap();
                    Ok(long.await)
                })
                .await;
                (r, cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r.0.unwrap_err().errors, [Failure::Child("boom")]);
    assert_eq!(r.1, 0);
}

// Outside a task (the group given straight to run_until_complete, which asyncio refuses:
// "cannot determine the parent task"): the group delivers its own request into the body,
// which catches it, awaits cleanup and re-raises; the group reports the failure.
#[test]
fn without_a_parent_task_the_body_still_catches_and_reraises() {
    let lp = paused();
    let cleanup_done = flag();
    let c = cleanup_done.clone();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            assert!(current_task().is_none());
            tg.create_task(async {
                sleep(secs(1)).await;
                Err::<(), _>("boom")
            })
            .unwrap();
            match catch_cancel(sleep(secs(10))).await {
                Err(cancelled) => {
                    sleep(secs(1)).await;
                    c.store(true, Ordering::SeqCst);
                    reraise(cancelled).await
                }
                Ok(()) => Ok(()),
            }
        }))
        .unwrap();
    assert_eq!(r.unwrap_err().errors, [Failure::Child("boom")]);
    assert!(cleanup_done.load(Ordering::SeqCst));
}

// Outside a task, test_taskgroup_19's shape: the body catches and returns its own error.
#[test]
fn without_a_parent_task_the_body_error_is_reported_too() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            tg.create_task(async {
                sleep(secs(1)).await;
                Err::<(), _>("child")
            })
            .unwrap();
            match catch_cancel(sleep(secs(10))).await {
                Err(_) => Err("body"),
                Ok(()) => Ok(()),
            }
        }))
        .unwrap();
    assert_eq!(
        r.unwrap_err().errors,
        [Failure::Child("child"), Failure::Body("body")]
    );
}

// test_cancellation_does_not_leak_out_of_tg with an eager child that fails inside
// create_task (gh-128550/gh-128588): the abort still stops the body through the parent's
// cancellation, and none of it is left on the parent afterwards.
#[test]
fn an_eager_failure_does_not_leak_a_cancellation() {
    let lp = paused();
    tower_task::set_task_factory(&lp, Some(tower_task::LoopTaskOptions::eager_task_factory()));
    let body_caught = Arc::new(AtomicBool::new(false));
    let b = body_caught.clone();
    let (r, left, goes_on) = lp
        .run_until_complete(async move {
            spawn(async move {
                let r = TaskGroup::run(|tg| async move {
                    tg.create_task(async { Err::<(), _>("MyError") }).unwrap();
                    if catch_cancel(sleep(secs(10))).await.is_err() {
                        b.store(true, Ordering::SeqCst);
                    }
                    Ok(())
                })
                .await;
                let goes_on = catch_cancel(sleep(secs(1))).await.is_ok();
                (r, cancelling(), goes_on)
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r.unwrap_err().errors, [Failure::Child("MyError")]);
    assert!(body_caught.load(Ordering::SeqCst));
    assert_eq!(left, 0);
    assert!(goes_on);
}

// No CPython counterpart: the parent's handle sees a plain value when the group failed (the
// group's own cancellation never reaches the parent's awaiter).
#[test]
fn the_parent_task_finishes_with_the_group_s_error() {
    let lp = paused();
    let r: Result<Result<(), _>, TaskError> = lp
        .run_until_complete(async {
            spawn(TaskGroup::run(|tg| async move {
                tg.create_task(async { Err::<(), _>("boom") }).unwrap();
                sleep(secs(10)).await;
                Ok(())
            }))
            .await
        })
        .unwrap();
    assert_eq!(r.unwrap().unwrap_err().errors, [Failure::Child("boom")]);
}
