//! `wait_for`: ports of CPython's `test_asyncio/test_waitfor.py`. Virtual time only.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tower_loop::Timer;
use tower_task::error::TimeoutError;
use tower_task::{Shield, sleep, spawn, wait_for, wait_for_task};

mod common;
use common::{paused, secs};

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
        .run_until_complete(wait_for(secs(2), async {
            Timer::after(secs(1)).await;
            "ok"
        }))
        .unwrap();
    assert_eq!(r, Ok("ok"));
}

// test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started: with a zero timeout the
// future is never polled, even one that would complete at once (asyncio 3.12 does not start
// the coroutine); the result is TimeoutError.
#[test]
fn zero_timeout_never_polls_the_future() {
    let lp = paused();
    let started = Rc::new(Cell::new(false));
    let s = started.clone();
    let r = lp
        .run_until_complete(wait_for(Duration::ZERO, async move { s.set(true) }))
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert!(!started.get());
}

// The same inside a task: the task is not cancelled for it (asyncio's wait_for(coro, 0) makes
// no Timeout at all).
#[test]
fn zero_timeout_in_a_task_never_polls_the_future() {
    let lp = paused();
    let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = started.clone();
    let (r, cancelling) = lp
        .run_until_complete(async move {
            spawn(async move {
                let r = wait_for(Duration::ZERO, async move {
                    s.store(true, std::sync::atomic::Ordering::SeqCst)
                })
                .await;
                (r, tower_task::current_task().unwrap().cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert_eq!(cancelling, 0);
    assert!(!started.load(std::sync::atomic::Ordering::SeqCst));
}

// test_wait_for_timeout_less_then_0_or_0 (for a future): with a zero timeout it times out and
// is dropped, unpolled.
#[test]
fn pending_future_with_zero_timeout_times_out_and_is_dropped() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let r = lp
        .run_until_complete(wait_for(Duration::ZERO, async move {
            let _flag = flag;
            Timer::after(secs(1)).await;
        }))
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert!(dropped.get());
}

// test_wait_for: the deadline passes, the inner future (nothing cancellation-aware inside) is
// dropped before wait_for returns, and it never resumes.
#[test]
fn drops_inner_on_expiry_before_returning() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let resumed = Rc::new(Cell::new(false));
    let (d, res) = (dropped.clone(), resumed.clone());
    let dropped_when_returned = lp
        .run_until_complete(async move {
            let flag = DropFlag(d.clone());
            let r = wait_for(secs(1), async move {
                let _flag = flag;
                Timer::after(secs(10)).await;
                res.set(true);
            })
            .await;
            assert_eq!(r, Err(TimeoutError));
            d.get()
        })
        .unwrap();
    assert!(dropped_when_returned);
    assert!(!resumed.get());
}

// test_wait_for_blocking: the value of a successful wait is returned, and no timer is left.
#[test]
fn success_leaves_no_timer_behind() {
    let lp = paused();
    let r = lp
        .run_until_complete(wait_for(secs(100), async { 5 }))
        .unwrap();
    assert_eq!(r, Ok(5));
    assert_eq!(lp.pending_timers(), 0);
}

// test_cancel_wait_for: cancelling the waiter (dropping the wait_for) drops the inner future
// too.
#[test]
fn dropping_wait_for_drops_inner() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    lp.run_until_complete(async move {
        let w = wait_for(secs(100), async move {
            let _flag = flag;
            Timer::after(secs(10)).await;
        });
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

// test_wait_for: waiting for a *task* with asyncio's semantics — on timeout the task is
// cancelled (its future dropped, `foo_running` back to false).
#[test]
fn wait_for_task_cancels_the_task_on_timeout() {
    let lp = paused();
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r2 = running.clone();
    lp.run_until_complete(async move {
        struct Running(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Running {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let t = spawn(async move {
            r2.store(true, std::sync::atomic::Ordering::SeqCst);
            let _running = Running(r2);
            sleep(secs(3600)).await;
            "done"
        });
        let probe = t.task_ref().clone();
        let r = wait_for_task(Duration::from_millis(100), t).await;
        assert_eq!(r.map(|_| ()), Err(TimeoutError));
        // Cancelled and waited for: done when wait_for_task returns.
        assert!(probe.done() && probe.cancelled());
    })
    .unwrap();
    assert!(!running.load(std::sync::atomic::Ordering::SeqCst));
}

// test_cancel_wait_for (Python issue #23219): cancelling the wait also cancels the task.
#[test]
fn cancelling_wait_for_task_cancels_the_task() {
    let lp = paused();
    lp.run_until_complete(async {
        let task = spawn(tower_coro::pending::<()>());
        let probe = task.task_ref().clone();
        let wait = spawn(wait_for_task(secs(60), task));
        sleep(secs(1)).await;
        wait.cancel();
        assert!(wait.await.unwrap_err().is_cancelled());
        sleep(secs(1)).await;
        assert!(probe.cancelled());
    })
    .unwrap();
}

// test_wait_for: plain wait_for given a task cancels it on timeout, through the handle, and
// waits for it: the task is done and cancelled when wait_for returns.
#[test]
fn wait_for_on_a_task_cancels_and_awaits_it() {
    let lp = paused();
    lp.run_until_complete(async {
        let task = spawn(async {
            sleep(secs(10)).await;
            "done"
        });
        let probe = task.task_ref().clone();
        let r = wait_for(Duration::from_millis(100), task).await;
        assert!(r.is_err());
        assert!(probe.done() && probe.cancelled());
    })
    .unwrap();
}

// WaitForShieldTests.test_shielded_timeout: wait_for around a shielded task times out without
// reaching the task, which runs on to completion.
#[test]
fn wait_for_on_a_shielded_task_leaves_it_running() {
    let lp = paused();
    lp.run_until_complete(async {
        let task = spawn(async {
            sleep(secs(1)).await;
            "done"
        });
        let probe = task.task_ref().clone();
        let r = wait_for(Duration::from_millis(10), Shield::from(task)).await;
        assert!(r.is_err());
        assert!(!probe.done());
        sleep(secs(2)).await;
        assert!(probe.done() && !probe.cancelled());
    })
    .unwrap();
}

// test_wait_for_blocking / test_wait_for_issue86296: a finished task waited for gives its value.
#[test]
fn wait_for_task_gives_the_value_of_a_finished_task() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let t = spawn(async { "done" });
            sleep(secs(1)).await;
            wait_for_task(Duration::ZERO, t).await
        })
        .unwrap();
    assert_eq!(r.unwrap().unwrap(), "done");
}
