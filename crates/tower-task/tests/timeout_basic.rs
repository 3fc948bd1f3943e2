//! `timeout` / `timeout_at` / `Timeout::reschedule`: ports of CPython's
//! `test_asyncio/test_timeouts.py`. Virtual time only.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tower_loop::{EventLoop, Timer, get_running_loop};
use tower_task::error::TimeoutError;
use tower_task::{timeout, timeout_at};

fn paused() -> EventLoop {
    EventLoop::builder().paused_clock().build().unwrap()
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
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

// test_timeout_not_triggered: a body finishing first gives its value.
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

// test_timeout_basic + "cancellation is drop": the body is dropped before the timeout returns.
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

// test_timeout_zero / test_timeout_in_the_past_sleep: a deadline in the past cancels the body at
// its first suspension.
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

// test_timeout_zero_sleep_zero / test_timeout_in_the_past_sleep_zero: a body that never suspends
// completes even with a zero deadline (asyncio delivers the cancellation only at an await).
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

// test_timeout_at: an absolute deadline on the loop's clock.
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

// test_timeout_when / test_timeout_reschedule: when() reports the deadline; reschedule later lets
// a body finish that would otherwise have expired.
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

// test_timeout_reschedule (earlier): moving the deadline earlier expires a body that would
// otherwise have finished.
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

// test_timeout_disabled via reschedule(None): the deadline is removed.
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

// test_timeout_reschedule after a first poll: the pending timer entry is moved, not duplicated.
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

// test_timeout_expired: expired() is false before, true after the deadline.
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

// Dropping a timeout cancels its timer entry (no leak of 10^6 dead entries).
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
