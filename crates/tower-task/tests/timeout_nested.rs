//! Nested timeouts report to the right level: ports of CPython's `test_timeouts.py`
//! (`test_nested_timeouts`, `test_nested_timeouts_concurrent`, `test_nested_timeout_in_finally`
//! style scenarios). Virtual time only.

use std::time::Duration;

use tower_loop::{Timer, get_running_loop};
use tower_task::error::TimeoutError;
use tower_task::{timeout, timeout_at};

mod common;
use common::{paused, secs};

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
