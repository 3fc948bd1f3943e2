//! Nested timeouts report to the right level, and each one's `expired()` says whether its own
//! deadline passed: ports of CPython's `test_timeouts.py` (`test_nested_timeouts`,
//! `test_nested_timeouts_concurrent`, `test_nested_timeouts_loop_busy`,
//! `test_nested_timeout_in_finally`), without a task (the timeouts deliver their own requests)
//! and in a task (they cancel it). Virtual time only.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tower_loop::{Timer, get_running_loop};
use tower_task::error::TimeoutError;
use tower_task::{
    TimeoutHandle, catch_cancel, current_task, reraise, sleep, spawn, timeout, timeout_at,
    timeout_scope, timeout_scope_at,
};

mod common;
use common::{flag, paused, secs};

/// Runs `f` in a task on a paused loop and gives its output.
fn in_task<F>(f: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    paused()
        .run_until_complete(async { spawn(f).await.unwrap() })
        .unwrap()
}

// test_nested_timeouts_loop_busy (first half): the inner timeout reports; the outer body goes
// on and the outer timeout does not fire.
#[test]
fn inner_expires_first_reports_to_inner_level() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout(secs(10), async {
            let inner = timeout(secs(1), Timer::after(secs(5))).await;
            assert_eq!(inner.map(|_| ()), Err(TimeoutError));
            "outer body went on"
        }))
        .unwrap();
    assert_eq!(r, Ok("outer body went on"));
}

// test_nested_timeouts ("only the topmost context manager should raise TimeoutError"), outer
// shorter: the outer reports; the inner is dropped with the outer body.
#[test]
fn outer_expires_first_reports_to_outer_level() {
    let lp = paused();
    let mut inner_reported = false;
    let r = lp
        .run_until_complete(timeout(secs(1), async {
            let inner = timeout(secs(10), Timer::after(secs(5))).await;
            inner_reported = true;
            inner.is_ok()
        }))
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert!(!inner_reported);
}

// test_nested_timeouts_concurrent: both deadlines have passed when the task next runs (the loop
// was busy); the outer timeout reports, as asyncio raises TimeoutError from the outer block.
#[test]
fn both_expired_outer_reports() {
    let lp = paused();
    let lp2 = lp.clone();
    let mut inner_reported = false;
    let r = lp
        .run_until_complete(timeout(secs(2), async {
            let inner = timeout(secs(100), async {
                tower_coro::yield_now().await;
                // "time.sleep(0.01)": the clock jumps past both deadlines without the task
                // suspending.
                lp2.advance(secs(200));
                Timer::after(secs(1000)).await;
            })
            .await;
            inner_reported = true;
            inner
        }))
        .unwrap();
    assert_eq!(r.map(|_| ()), Err(TimeoutError));
    assert!(!inner_reported);
}

// No CPython counterpart: three levels, the middle one shortest: only the middle one reports.
#[test]
fn middle_of_three_reports() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout(secs(30), async {
            timeout(secs(2), async {
                let innermost = timeout(secs(20), Timer::after(secs(10))).await;
                innermost.is_ok()
            })
            .await
        }))
        .unwrap();
    assert_eq!(r, Ok(Err(TimeoutError)));
}

// test_nested_timeouts: both with the same deadline: only the topmost one reports.
#[test]
fn same_deadline_topmost_reports() {
    let lp = paused();
    let mut inner_reported = false;
    let r = lp
        .run_until_complete(async {
            let deadline = get_running_loop().unwrap().time() + Duration::from_millis(10);
            timeout_at(deadline, async {
                let inner = timeout_at(deadline, Timer::after(secs(10))).await;
                inner_reported = true;
                inner
            })
            .await
        })
        .unwrap();
    assert_eq!(r.map(|_| ()), Err(TimeoutError));
    assert!(!inner_reported);
}

// test_nested_timeouts_loop_busy (first half), in a task: the inner deadline passes first: the
// inner scope reports TimeoutError and is expired; the outer body goes on, the outer scope
// completes with its value and is not expired; the task's count is back to 0.
#[test]
fn in_a_task_inner_expires_first() {
    let (r, inner, outer, count) = in_task(async {
        let mut inner_cm: Option<TimeoutHandle> = None;
        let mut outer_cm: Option<TimeoutHandle> = None;
        let r = timeout_scope(Some(secs(10)), |cm| {
            outer_cm = Some(cm);
            async {
                let inner = timeout_scope(Some(secs(1)), |cm| {
                    inner_cm = Some(cm);
                    sleep(secs(5))
                })
                .await;
                assert_eq!(inner, Err(TimeoutError));
                sleep(secs(1)).await;
                "outer body went on"
            }
        })
        .await;
        let (inner, outer) = (inner_cm.unwrap(), outer_cm.unwrap());
        (
            r,
            inner.expired(),
            outer.expired(),
            current_task().unwrap().cancelling(),
        )
    });
    assert_eq!(r, Ok("outer body went on"));
    assert!(inner && !outer);
    assert_eq!(count, 0);
}

// test_nested_timeouts_concurrent, in a task: only the outer deadline has passed when the task
// next runs ("time.sleep(0.01)" moves the clock past it): the outer scope reports TimeoutError;
// the inner one saw the cancellation go through and is not expired.
#[test]
fn in_a_task_outer_expires_first_inner_not_expired() {
    let (r, inner, outer, inner_reported) = in_task(async {
        let inner_cm: Arc<OnceLock<TimeoutHandle>> = Arc::default();
        let mut outer_cm: Option<TimeoutHandle> = None;
        let reported = flag();
        let rep = reported.clone();
        let keep = inner_cm.clone();
        let r = timeout_scope(Some(Duration::from_millis(2)), |cm| {
            outer_cm = Some(cm);
            async move {
                let inner = timeout_scope(Some(Duration::from_millis(100)), |cm| {
                    keep.set(cm).unwrap();
                    async {
                        get_running_loop()
                            .unwrap()
                            .advance(Duration::from_millis(10));
                        sleep(secs(1)).await;
                    }
                })
                .await;
                rep.store(true, Ordering::SeqCst);
                inner
            }
        })
        .await;
        let (inner, outer) = (inner_cm.get().unwrap(), outer_cm.unwrap());
        (
            r,
            inner.expired(),
            outer.expired(),
            reported.load(Ordering::SeqCst),
        )
    });
    assert_eq!(r.map(|_| ()), Err(TimeoutError));
    assert!(outer && !inner);
    assert!(!inner_reported);
}

// test_nested_timeouts, in a task: both scopes have the same deadline: both expire (each
// cancelled the task), the inner one lets the cancellation go on (asyncio: "only the topmost
// context manager should raise TimeoutError") and the outer one reports.
#[test]
fn in_a_task_same_deadline_both_expire_outer_reports() {
    let (r, cancelled, cm1, cm2, count) = in_task(async {
        let deadline = get_running_loop().unwrap().time() + Duration::from_millis(10);
        let mut cm1: Option<TimeoutHandle> = None;
        let cm2: Arc<OnceLock<TimeoutHandle>> = Arc::default();
        let cancelled = flag();
        let c = cancelled.clone();
        let keep = cm2.clone();
        let r = timeout_scope_at(Some(deadline), |cm| {
            cm1 = Some(cm);
            async move {
                let inner = catch_cancel(timeout_scope_at(Some(deadline), |cm| {
                    keep.set(cm).unwrap();
                    sleep(secs(10))
                }))
                .await;
                if let Err(e) = inner {
                    c.store(true, Ordering::SeqCst);
                    reraise::<()>(e).await;
                }
            }
        })
        .await;
        let (cm1, cm2) = (cm1.unwrap(), cm2.get().unwrap());
        (
            r,
            cancelled.load(Ordering::SeqCst),
            cm1.expired(),
            cm2.expired(),
            current_task().unwrap().cancelling(),
        )
    });
    assert_eq!(r, Err(TimeoutError));
    assert!(cancelled);
    assert!(cm1 && cm2);
    assert_eq!(count, 0);
}

// test_nested_timeouts_loop_busy, in a task: the loop was busy past both deadlines (inner 10 ms,
// outer 100 ms) when the task next runs: both expire; the outer reports TimeoutError, and the
// outer body after the inner timeout does not run.
#[test]
fn in_a_task_both_past_when_woken_outer_reports() {
    let (r, inner_reported) = in_task(async {
        let reported = flag();
        let rep = reported.clone();
        let r = timeout(Duration::from_millis(100), async move {
            let _ = timeout(Duration::from_millis(10), async {
                get_running_loop()
                    .unwrap()
                    .advance(Duration::from_millis(100));
                sleep(secs(1)).await;
            })
            .await;
            rep.store(true, Ordering::SeqCst);
            sleep(secs(10)).await;
        })
        .await;
        (r, reported.load(Ordering::SeqCst))
    });
    assert_eq!(r, Err(TimeoutError));
    assert!(!inner_reported);
}

// test_nested_timeout_in_finally, in a task: the outer timeout's cancellation is caught, and
// the cleanup runs a timeout of its own: that one reports to the cleanup, then the outer one
// reports too.
#[test]
fn in_a_task_timeout_inside_cleanup_of_an_expired_one() {
    let (outer, inner) = in_task(async {
        let mut inner_r = None;
        let outer = timeout(Duration::from_millis(10), async {
            if let Err(c) = catch_cancel(sleep(secs(1))).await {
                inner_r = Some(timeout(Duration::from_millis(10), sleep(secs(10))).await);
                reraise::<()>(c).await;
            }
        })
        .await;
        (outer, inner_r)
    });
    assert_eq!(outer, Err(TimeoutError));
    assert_eq!(inner, Some(Err(TimeoutError)));
}
