//! `timeout` / `timeout_at` / `Timeout::reschedule`: ports of CPython's
//! `test_asyncio/test_timeouts.py`. Virtual time only.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tower_loop::{Timer, get_running_loop};
use tower_task::error::TimeoutError;
use tower_task::{timeout, timeout_at};

mod common;
use common::{paused, secs};

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

// test_timeout_basic: a body sleeping past the deadline gets TimeoutError.
#[test]
fn expires_when_body_outlives_deadline() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout(secs(1), Timer::after(secs(10))))
        .unwrap();
    assert_eq!(r.map(|_| ()), Err(TimeoutError));
}

// test_timeout_not_called: a body finishing first gives its value.
#[test]
fn body_finishing_first_gives_its_value() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout(secs(10), async {
            Timer::after(secs(1)).await;
            42
        }))
        .unwrap();
    assert_eq!(r, Ok(42));
}

// test_waiter_cancelled (a body with nothing cancellation-aware inside): the timeout takes its
// cancellation itself and drops the body before it returns.
#[test]
fn expiry_drops_the_body_before_returning() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    let seen_in_caller = lp
        .run_until_complete(async move {
            let flag = DropFlag(d.clone());
            let r = timeout(secs(1), async move {
                let _flag = flag;
                Timer::after(secs(10)).await;
            })
            .await;
            assert!(r.is_err());
            d.get()
        })
        .unwrap();
    assert!(seen_in_caller, "body still alive when timeout returned");
    assert!(dropped.get());
}

// test_timeout_zero: a zero deadline cancels the body at its first suspension.
#[test]
fn past_deadline_cancels_at_first_suspension() {
    let lp = paused();
    let resumed = Rc::new(Cell::new(false));
    let r2 = resumed.clone();
    let r = lp
        .run_until_complete(timeout(Duration::ZERO, async move {
            Timer::after(secs(10)).await;
            r2.set(true);
        }))
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert!(!resumed.get());
}

// No CPython test of its own: asyncio delivers a timeout's cancellation only at an await, so a
// block with none completes even with a zero deadline (what makes
// test_wait_for_timeout_less_then_0_or_0_future_done give the value).
#[test]
fn body_that_never_suspends_completes_despite_past_deadline() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout(Duration::ZERO, async { "done" }))
        .unwrap();
    assert_eq!(r, Ok("done"));
}

// test_timeout_at_disabled / test_timeout_disabled: no deadline, never expires.
#[test]
fn timeout_at_none_never_expires() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout_at(None, Timer::after(secs(1000))))
        .unwrap();
    assert!(r.is_ok());
}

// test_timeout_at_basic: an absolute deadline on the loop's clock.
#[test]
fn timeout_at_absolute_deadline_expires() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let now = get_running_loop().unwrap().time();
            timeout_at(now + secs(2), Timer::after(secs(3))).await
        })
        .unwrap();
    assert!(r.is_err());
}

// test_reschedule: when() reports the deadline; rescheduling later lets a body finish that
// would otherwise have expired.
#[test]
fn reschedule_later_lets_body_finish() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let mut t = timeout(secs(1), Box::pin(Timer::after(secs(5))));
            let now = get_running_loop().unwrap().time();
            assert_eq!(t.when(), Some(now + secs(1)));
            t.reschedule(Some(now + secs(10)));
            assert_eq!(t.when(), Some(now + secs(10)));
            let r = (&mut t).await;
            assert!(!t.expired());
            r
        })
        .unwrap();
    assert!(r.is_ok());
}

// test_reschedule (moved earlier): a body that would have finished expires.
#[test]
fn reschedule_earlier_expires_body() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let mut t = timeout(secs(10), Box::pin(Timer::after(secs(5))));
            let now = get_running_loop().unwrap().time();
            t.reschedule(Some(now + secs(1)));
            let r = (&mut t).await;
            assert!(t.expired());
            r
        })
        .unwrap();
    assert!(r.is_err());
}

// test_reschedule (reschedule(None)): the deadline is removed.
#[test]
fn reschedule_none_disables_deadline() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let mut t = timeout(secs(1), Box::pin(Timer::after(secs(5))));
            t.reschedule(None);
            assert_eq!(t.when(), None);
            (&mut t).await
        })
        .unwrap();
    assert!(r.is_ok());
}

// test_reschedule (while pending): the registered timer entry is moved, not duplicated.
#[test]
fn reschedule_between_polls_moves_the_timer() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let mut t = timeout(secs(2), Box::pin(Timer::after(secs(5))));
            // Poll once so the timer is registered, then move it later.
            let first = tower_coro::race(async { Some((&mut t).await) }, async {
                tower_coro::yield_now().await;
                None
            })
            .await;
            assert!(first.is_none());
            let now = get_running_loop().unwrap().time();
            t.reschedule(Some(now + secs(60)));
            (&mut t).await
        })
        .unwrap();
    assert!(r.is_ok());
    // The moved entry was cancelled, the final one fired or was cancelled: nothing left.
    assert_eq!(lp.pending_timers(), 0);
}

// test_timeout_basic (cm.expired()): false before, true after the deadline.
#[test]
fn expired_reports_the_deadline() {
    let lp = paused();
    lp.run_until_complete(async {
        let mut t = timeout(secs(1), Box::pin(Timer::after(secs(5))));
        assert!(!t.expired());
        assert!((&mut t).await.is_err());
        assert!(t.expired());
        assert!(t.is_terminated());
    })
    .unwrap();
}

// No CPython counterpart: dropping a timeout cancels its timer entry (no leak of dead entries).
#[test]
fn dropping_cancels_the_timer_entry() {
    let lp = paused();
    lp.run_until_complete(async {
        let t = timeout(secs(100), async { 1 });
        assert_eq!(t.await, Ok(1));
        let _ = tower_coro::race(
            async {
                let _ = timeout(secs(100), Timer::after(secs(50))).await;
            },
            async { tower_coro::yield_now().await },
        )
        .await;
    })
    .unwrap();
    assert_eq!(lp.pending_timers(), 0);
}

// test_timeout_zero_sleep_zero: a zero deadline and a body that suspends once (sleep(0)):
// TimeoutError.
#[test]
fn zero_deadline_and_one_yield_times_out() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout(Duration::ZERO, tower_coro::yield_now()))
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
}

// test_timeout_in_the_past_sleep_zero: a deadline in the past and one yield: TimeoutError.
#[test]
fn past_deadline_and_one_yield_times_out() {
    let lp = paused();
    lp.advance(secs(100));
    let r = lp
        .run_until_complete(async {
            let past = get_running_loop().unwrap().time() - secs(11);
            timeout_at(past, tower_coro::yield_now()).await
        })
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
}

// test_outer_task_is_not_cancelled: the task that ran an expired timeout is not cancelled.
#[test]
fn outer_task_is_not_cancelled() {
    let lp = paused();
    lp.run_until_complete(async {
        let t = tower_task::spawn(async {
            timeout(Duration::from_millis(1), tower_task::sleep(secs(10)))
                .await
                .is_err()
        });
        let probe = t.task_ref().clone();
        assert!(t.await.unwrap());
        assert!(probe.done() && !probe.cancelled());
    })
    .unwrap();
}

// No CPython counterpart: a timeout that completed with `TimeoutError` is done too; polling it
// again is a misuse, as for any completed future (not a second `Err(TimeoutError)`).
#[test]
#[should_panic(expected = "`Timeout` polled after completion")]
fn polling_after_a_timeout_error_panics() {
    let lp = paused();
    lp.run_until_complete(async {
        let mut t = timeout(secs(1), Box::pin(Timer::after(secs(5))));
        assert_eq!((&mut t).await, Err(TimeoutError));
        let _ = (&mut t).await;
    })
    .unwrap();
}

// No CPython counterpart: the zero-timeout `wait_for` completes without polling its future;
// polling it again panics the same way.
#[test]
#[should_panic(expected = "`Timeout` polled after completion")]
fn polling_a_zero_wait_for_again_panics() {
    let lp = paused();
    lp.run_until_complete(async {
        let mut t = tower_task::wait_for(Duration::ZERO, Box::pin(async { 1 }));
        assert_eq!((&mut t).await, Err(TimeoutError));
        let _ = (&mut t).await;
    })
    .unwrap();
}
