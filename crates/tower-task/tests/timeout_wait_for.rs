//! `wait_for`: ports of CPython's `test_asyncio/test_waitfor.py`. Virtual time only.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tower_loop::{EventLoop, Timer};
use tower_task::error::TimeoutError;
use tower_task::wait_for;

fn paused() -> EventLoop {
    EventLoop::builder().paused_clock().build().unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

// test_wait_for_race_condition: the result arrives before the deadline and is returned.
#[test]
fn returns_value_before_deadline() {
    let lp = paused();
    let r = lp
        .run_until_complete(wait_for(
            async {
                Timer::after(secs(1)).await;
                "ok"
            },
            secs(2),
        ))
        .unwrap();
    assert_eq!(r, Ok("ok"));
}

// test_wait_for_timeout_less_then_0_or_0_future_done: an already-complete future with a zero
// timeout gives its result.
#[test]
fn ready_future_with_zero_timeout_gives_result() {
    let lp = paused();
    let r = lp
        .run_until_complete(wait_for(async { "done" }, Duration::ZERO))
        .unwrap();
    assert_eq!(r, Ok("done"));
}

// test_wait_for_timeout_less_then_0_or_0: a pending future with a zero timeout times out, and
// is cancelled (dropped).
#[test]
fn pending_future_with_zero_timeout_times_out_and_is_dropped() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let r = lp
        .run_until_complete(wait_for(
            async move {
                let _flag = flag;
                Timer::after(secs(1)).await;
            },
            Duration::ZERO,
        ))
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert!(dropped.get());
}

// test_wait_for: the deadline passes, the inner future is cancelled (dropped) before wait_for
// returns, and it never resumes.
#[test]
fn drops_inner_on_expiry_before_returning() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let resumed = Rc::new(Cell::new(false));
    let (d, res) = (dropped.clone(), resumed.clone());
    let dropped_when_returned = lp
        .run_until_complete(async move {
            let flag = DropFlag(d.clone());
            let r = wait_for(
                async move {
                    let _flag = flag;
                    Timer::after(secs(10)).await;
                    res.set(true);
                },
                secs(1),
            )
            .await;
            assert_eq!(r, Err(TimeoutError));
            d.get()
        })
        .unwrap();
    assert!(dropped_when_returned);
    assert!(!resumed.get());
}

// test_wait_for_with_global_loop / test_wait_for_blocking: the value of a successful wait is
// returned and the inner future is dropped with it (no lingering timer).
#[test]
fn success_leaves_no_timer_behind() {
    let lp = paused();
    let r = lp
        .run_until_complete(wait_for(async { 5 }, secs(100)))
        .unwrap();
    assert_eq!(r, Ok(5));
    assert_eq!(lp.pending_timers(), 0);
}

// test_wait_for_cancellation_race_condition: cancelling the waiter (dropping the wait_for)
// drops the inner future too.
#[test]
fn dropping_wait_for_drops_inner() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    lp.run_until_complete(async move {
        let w = wait_for(
            async move {
                let _flag = flag;
                Timer::after(secs(10)).await;
            },
            secs(100),
        );
        // The waiter gives up first (its own cancellation): the race drops the wait_for.
        tower_coro::race(async { w.await.is_ok() }, async {
            Timer::after(secs(1)).await;
            false
        })
        .await
    })
    .unwrap();
    assert!(dropped.get());
}
