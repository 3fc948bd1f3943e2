//! `TaskGroup`: the parent task cancelled from outside — during the body, while joining, and
//! together with a child's failure (errors win, the cancellation is requested again). Ports
//! of CPython's `test_asyncio/test_taskgroups.py`. Virtual time only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tower_task::error::{Failure, TaskError};
use tower_task::{TaskGroup, catch_cancel, current_task, reraise, sleep, spawn};

mod common;
use common::{flag, paused, secs};

/// The running task's `cancelling()` count.
fn cancelling() -> u32 {
    current_task().expect("inside a task").cancelling()
}

/// The message of a task that ended cancelled.
fn cancelled_with<T: std::fmt::Debug>(r: Result<T, TaskError>) -> Option<String> {
    match r {
        Err(TaskError::Cancelled(c)) => c.message().map(str::to_owned),
        other => panic!("expected a cancelled task, got {other:?}"),
    }
}

// test_taskgroup_07: the parent is cancelled while the body awaits; the body catches it
// (NUM += 10) and re-raises; each child catches its own (NUM += 1) and re-raises; the parent
// ends cancelled after all of them.
#[test]
fn outside_cancel_during_the_body_reaches_body_and_children() {
    let lp = paused();
    let num = Arc::new(AtomicU32::new(0));
    let n = num.clone();
    let out = lp
        .run_until_complete(async move {
            let r = spawn(TaskGroup::run(move |tg| async move {
                for _ in 0..5 {
                    let n2 = n.clone();
                    tg.create_task(async move {
                        if let Err(c) = catch_cancel(sleep(secs(5))).await {
                            n2.fetch_add(1, Ordering::SeqCst);
                            return reraise(c).await;
                        }
                        Ok::<_, ()>(())
                    })
                    .unwrap();
                }
                if let Err(c) = catch_cancel(sleep(secs(10))).await {
                    n.fetch_add(10, Ordering::SeqCst);
                    return reraise(c).await;
                }
                Ok(())
            }));
            sleep(secs(1)).await;
            assert!(!r.done());
            r.cancel_with("test");
            r.await
        })
        .unwrap();
    // test_cancellation: the awaiter sees the parent's own message.
    assert_eq!(cancelled_with(out).as_deref(), Some("test"));
    assert_eq!(num.load(Ordering::SeqCst), 15);
}

// test_taskgroup_17: no child; the body catches the parent's cancellation and re-raises; the
// parent ends cancelled.
#[test]
fn body_reraising_an_outside_cancel_ends_the_parent_cancelled() {
    let lp = paused();
    let caught = flag();
    let c2 = caught.clone();
    let out = lp
        .run_until_complete(async move {
            let r = spawn(TaskGroup::run(move |_tg| async move {
                if let Err(c) = catch_cancel(sleep(secs(10))).await {
                    c2.store(true, Ordering::SeqCst);
                    return reraise::<Result<(), ()>>(c).await;
                }
                Ok(())
            }));
            sleep(secs(1)).await;
            r.cancel();
            r.await
        })
        .unwrap();
    assert!(out.unwrap_err().is_cancelled());
    assert!(caught.load(Ordering::SeqCst));
}

// test_taskgroup_18: the body catches the parent's cancellation and fails instead; the group
// reports that error (errors win over the cancellation), and the parent's cancellation is
// requested again: its count is unchanged and its next await is cancelled.
#[test]
fn body_failing_after_an_outside_cancel_wins_and_the_cancel_is_requested_again() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let r = spawn(async {
                let r = TaskGroup::run(|_tg| async {
                    match catch_cancel(sleep(secs(10))).await {
                        Err(_) => Err("MyExc"),
                        Ok(()) => Ok(()),
                    }
                })
                .await;
                let count = cancelling();
                let next_await_cancelled = catch_cancel(sleep(secs(1))).await.is_err();
                (r, count, next_await_cancelled)
            });
            sleep(secs(1)).await;
            r.cancel();
            r.await.unwrap()
        })
        .unwrap();
    let (r, count, next_await_cancelled) = out;
    assert_eq!(r.unwrap_err().errors, [Failure::Body("MyExc")]);
    assert_eq!(count, 1);
    assert!(next_await_cancelled);
}

// test_taskgroup_22 ("cancel during cleanup"): the body has returned and the group waits for
// its children when the parent is cancelled: the children are cancelled with the parent's
// message and awaited (their cleanup runs), then the parent ends cancelled.
#[test]
fn outside_cancel_while_joining_cancels_and_awaits_children() {
    let lp = paused();
    let cleaned = Arc::new(AtomicU32::new(0));
    let c = cleaned.clone();
    let (out, cleaned_at_end) = lp
        .run_until_complete(async move {
            let c2 = c.clone();
            let r = spawn(TaskGroup::run(move |tg| async move {
                for _ in 0..2 {
                    let c3 = c2.clone();
                    tg.create_task(async move {
                        if let Err(cancelled) = catch_cancel(sleep(secs(100))).await {
                            assert_eq!(cancelled.message(), Some("stop"));
                            sleep(secs(3)).await;
                            c3.fetch_add(1, Ordering::SeqCst);
                            return reraise(cancelled).await;
                        }
                        Ok::<_, ()>(())
                    })
                    .unwrap();
                }
                Ok(())
            }));
            sleep(secs(1)).await;
            r.cancel_with("stop");
            let out = r.await;
            (out, c.load(Ordering::SeqCst))
        })
        .unwrap();
    assert_eq!(cancelled_with(out).as_deref(), Some("stop"));
    assert_eq!(
        cleaned_at_end, 2,
        "the children's cleanup ran before the parent ended"
    );
}

// test_error_and_cancel (the parent is cancelled from outside, then a child fails during its
// cleanup): errors win; inside the parent `cancelling()` is still 1 after the group, its next
// await is cancelled, and the parent ends cancelled.
#[test]
fn outside_cancel_and_a_failing_cleanup_errors_win() {
    let lp = paused();
    let (out, inside) = lp
        .run_until_complete(async {
            let seen = Arc::new(std::sync::Mutex::new(None));
            let s = seen.clone();
            let t = spawn(async move {
                let r = TaskGroup::run(|tg| async move {
                    tg.create_task(async {
                        match catch_cancel(sleep(secs(100))).await {
                            Ok(()) => Ok(()),
                            Err(_) => {
                                sleep(secs(1)).await;
                                Err("RuntimeError")
                            }
                        }
                    })
                    .unwrap();
                    sleep(secs(10)).await;
                    Ok(())
                })
                .await;
                *s.lock().unwrap() = Some((r.unwrap_err().errors, cancelling()));
                sleep(secs(1)).await; // "Sleep after group should have been cancelled"
                unreachable!("the cancellation was requested again");
            });
            sleep(secs(1)).await;
            assert_eq!(t.cancelling(), 0);
            t.cancel();
            assert_eq!(t.cancelling(), 1);
            let out = t.await;
            let inside = seen.lock().unwrap().take();
            (out, inside)
        })
        .unwrap();
    assert!(out.unwrap_err().is_cancelled());
    let (errors, count) = inside.unwrap();
    assert_eq!(errors, [Failure::Child("RuntimeError")]);
    assert_eq!(count, 1);
}

// test_error_and_cancel the other way round: a child fails (the group's own request is being
// handled by the body's cleanup) and then the parent is cancelled from outside: both are
// counted; the group withdraws only its own; errors win and the outside one is requested
// again.
#[test]
fn child_failure_then_outside_cancel_errors_win() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let t = spawn(async {
                let r = TaskGroup::run(|tg| async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<(), _>("boom")
                    })
                    .unwrap();
                    if catch_cancel(sleep(secs(10))).await.is_err() {
                        assert_eq!(cancelling(), 1);
                        sleep(secs(5)).await; // cleanup, cancelled from outside meanwhile
                    }
                    Ok(())
                })
                .await;
                let count = cancelling();
                let next_await_cancelled = catch_cancel(sleep(secs(1))).await.is_err();
                (r, count, next_await_cancelled)
            });
            sleep(secs(3)).await;
            t.cancel_with("outside");
            assert_eq!(t.cancelling(), 2, "the group's request and the outside one");
            t.await.unwrap()
        })
        .unwrap();
    let (r, count, next_await_cancelled) = out;
    assert_eq!(r.unwrap_err().errors, [Failure::Child("boom")]);
    assert_eq!(count, 1, "the outside request is left");
    assert!(next_await_cancelled);
}

// test_cancellation_in_body: the parent is cancelled from outside before the children (which
// would fail later) fail: the body re-raises the cancellation, the group cancels the children
// (so they never fail), and the parent ends cancelled with the message.
#[test]
fn outside_cancel_before_any_failure_is_raised_on() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let r = spawn(TaskGroup::run(|tg| async move {
                for _ in 0..5 {
                    tg.create_task(async {
                        sleep(secs(2)).await;
                        Err::<(), _>("ZeroDivisionError")
                    })
                    .unwrap();
                }
                if let Err(c) = catch_cancel(sleep(secs(10))).await {
                    return reraise(c).await;
                }
                Ok(())
            }));
            sleep(secs(1)).await;
            r.cancel_with("test");
            r.await
        })
        .unwrap();
    assert_eq!(cancelled_with(out).as_deref(), Some("test"));
}

// test_taskgroup_16 (3.12+): the group runs in a task that another task awaits; cancelling
// the outer task passes the cancellation on to the inner one, whose body catches it and
// cleans up; a child crashes meanwhile, so the group's own request interrupts that cleanup;
// errors win over the outside cancellation, which is requested again — deferred, so the
// inner task that returns the group's error at once ends with it, and the outer task's await
// gets it (asyncio: the ExceptionGroup propagates out of both tasks).
#[test]
fn cancel_passed_through_an_awaiting_task() {
    let lp = paused();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = seen.clone();
    let out = lp
        .run_until_complete(async move {
            let r = spawn(async move {
                let nested = spawn(async move {
                    let r = TaskGroup::run(|tg| async move {
                        tg.create_task(async {
                            sleep(secs(3)).await;
                            Err::<(), _>("ZeroDivisionError")
                        })
                        .unwrap();
                        if let Err(cancelled) = catch_cancel(sleep(secs(10))).await {
                            sleep(secs(5)).await; // interrupted by the crash at 3 s
                            return reraise(cancelled).await;
                        }
                        Ok(())
                    })
                    .await;
                    *s.lock().unwrap() = Some(cancelling());
                    r
                });
                nested.await.unwrap()
            });
            sleep(secs(1)).await;
            r.cancel();
            r.await
        })
        .unwrap();
    let errors = out.unwrap().unwrap_err().errors;
    assert_eq!(errors, [Failure::Child("ZeroDivisionError")]);
    let count = seen.lock().unwrap().take().unwrap();
    assert_eq!(count, 1, "the outside request is left, and requested again");
}
