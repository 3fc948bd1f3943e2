//! `wait_for` and `wait_for_task` cancel what they wait for and wait for it (asyncio 3.12's
//! `wait_for`, which is `async with timeout(t): return await fut`, and its zero-timeout case):
//! ports of CPython's `test_waitfor.py` cancellation scenarios. Virtual time only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tower_task::error::TimeoutError;
use tower_task::{
    Task, catch_cancel, current_task, reraise, sleep, sleep_until, spawn, timeout_at, wait_for,
    wait_for_task,
};

mod common;
use common::{flag, paused, secs};

/// `test_waitfor.py`'s `_EPSILON`: a very small timeout above zero.
const EPSILON: Duration = Duration::from_micros(100);

/// A task that sleeps long; when cancelled it awaits `cleanup`, sets `done`, and lets the
/// cancellation go on (test_wait_for_waits_for_task_cancellation's `inner`).
fn slow_to_cancel(cleanup: Duration, done: Arc<AtomicBool>) -> Task<()> {
    spawn(async move {
        if let Err(c) = catch_cancel(sleep(secs(10))).await {
            sleep(cleanup).await;
            done.store(true, Ordering::SeqCst);
            reraise::<()>(c).await;
        }
        done.store(true, Ordering::SeqCst);
    })
}

// test_wait_for_waits_for_task_cancellation: on timeout the task is cancelled, and wait_for
// returns TimeoutError only after the task's cleanup (an await) ran.
#[test]
fn waits_for_the_task_s_cleanup() {
    let lp = paused();
    let done = flag();
    let d = done.clone();
    let (r, done_then) = lp
        .run_until_complete(async move {
            spawn(async move {
                let inner = slow_to_cancel(secs(5), d.clone());
                let r = wait_for(EPSILON, inner).await;
                (r.map(|_| ()), d.load(Ordering::SeqCst))
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert!(done_then);
}

// test_wait_for_waits_for_task_cancellation_w_timeout_0: the same with a zero timeout, through
// wait_for_task (asyncio's _cancel_and_wait).
#[test]
fn zero_timeout_waits_for_the_task_s_cleanup() {
    let lp = paused();
    let done = flag();
    let d = done.clone();
    let (r, done_then) = lp
        .run_until_complete(async move {
            spawn(async move {
                let inner = slow_to_cancel(secs(5), d.clone());
                sleep(EPSILON).await;
                let r = wait_for_task(Duration::ZERO, inner).await;
                (r.map(|_| ()), d.load(Ordering::SeqCst))
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert!(done_then);
}

// test_wait_for_timeout_less_then_0_or_0 (for a started task): a zero timeout cancels the task
// and waits for it; it is done and cancelled, its `finally` ran. Without a task around too.
#[test]
fn zero_timeout_cancels_a_running_task() {
    let lp = paused();
    let running = flag();
    let r2 = running.clone();
    lp.run_until_complete(async move {
        let started = flag();
        let s = started.clone();
        let foo = spawn(async move {
            r2.store(true, Ordering::SeqCst);
            s.store(true, Ordering::SeqCst);
            let r = catch_cancel(sleep(secs(10))).await;
            r2.store(false, Ordering::SeqCst); // the `finally`
            if let Err(c) = r {
                reraise::<()>(c).await;
            }
            "done"
        });
        let probe = foo.task_ref().clone();
        while !started.load(Ordering::SeqCst) {
            sleep(EPSILON).await;
        }
        let r = wait_for_task(Duration::ZERO, foo).await;
        assert_eq!(r.map(|_| ()), Err(TimeoutError));
        assert!(probe.done() && probe.cancelled());
    })
    .unwrap();
    assert!(!running.load(Ordering::SeqCst));
}

// _cancel_and_wait's end: a task cancelled by a zero timeout that catches the cancellation and
// returns gives its value (asyncio returns fut.result()).
#[test]
fn zero_timeout_gives_the_value_of_a_task_that_catches() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let t = spawn(async {
                match catch_cancel(sleep(secs(10))).await {
                    Ok(()) => "slept",
                    Err(_) => "caught",
                }
            });
            sleep(EPSILON).await;
            wait_for_task(Duration::ZERO, t).await
        })
        .unwrap();
    assert_eq!(r.unwrap().unwrap(), "caught");
}

// test_asyncio_wait_for_timeout: the future ignores cancellation requests and goes on until
// its own end: wait_for waits for it, and gives its value.
#[test]
fn future_that_ignores_cancellation_is_waited_for() {
    let lp = paused();
    let exited = flag();
    let e = exited.clone();
    let (r, exited_then) = lp
        .run_until_complete(async move {
            spawn(async move {
                let exit_at = tower_loop::get_running_loop().unwrap().time() + secs(2);
                let slow = async move {
                    while tower_loop::get_running_loop().unwrap().time() < exit_at {
                        let _ = catch_cancel(sleep_until(exit_at)).await;
                    }
                    e.store(true, Ordering::SeqCst);
                };
                let r = wait_for(secs(1), slow).await;
                (r, exited.load(Ordering::SeqCst))
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r, Ok(()));
    assert!(exited_then);
}

// test_asyncio_wait_for_cancelled: the task running wait_for is cancelled; the future ignores it
// and runs to its end before the waiting task is done.
#[test]
fn cancelled_waiter_waits_for_a_future_that_ignores_it() {
    let lp = paused();
    let exited = flag();
    let e = exited.clone();
    lp.run_until_complete(async move {
        let waiter = spawn(async move {
            let exit_at = tower_loop::get_running_loop().unwrap().time() + secs(2);
            let slow = async move {
                while tower_loop::get_running_loop().unwrap().time() < exit_at {
                    let _ = catch_cancel(sleep_until(exit_at)).await;
                }
                e.store(true, Ordering::SeqCst);
            };
            wait_for(secs(4), slow).await
        });
        sleep(EPSILON).await;
        waiter.cancel();
        let _ = waiter.await;
    })
    .unwrap();
    assert!(exited.load(Ordering::SeqCst));
}

// test_wait_for_self_cancellation, with the waiting task started: its cancellation and then
// the deadline's pass on to the inner task, which holds both up and returns 42: wait_for gives
// 42 (asyncio's __aexit__ with no exception returns normally).
#[test]
fn inner_task_holding_up_two_cancellations_gives_its_value() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let inner = spawn(async {
                if catch_cancel(sleep(Duration::from_millis(300)))
                    .await
                    .is_err()
                    && catch_cancel(sleep(Duration::from_millis(300)))
                        .await
                        .is_err()
                {
                    sleep(Duration::from_millis(300)).await;
                }
                42
            });
            let wait = spawn(wait_for(Duration::from_millis(100), inner));
            sleep(EPSILON).await;
            wait.cancel();
            wait.await
        })
        .unwrap();
    assert_eq!(r.unwrap().unwrap().unwrap(), 42);
}

// test_cancel_wait_for / test_cancel_blocking_wait_for (Python issue #23219): cancelling the
// task running wait_for cancels the awaited task, and waits for it: it is done when the waiter
// is.
#[test]
fn cancelling_the_waiter_cancels_the_task_and_waits() {
    for deadline in [Some(secs(60)), None] {
        let lp = paused();
        lp.run_until_complete(async move {
            let done = flag();
            let task = slow_to_cancel(secs(1), done.clone());
            let probe = task.task_ref().clone();
            let wait = spawn(async move {
                let at = deadline.map(|d| tower_loop::get_running_loop().unwrap().time() + d);
                timeout_at(at, task).await
            });
            sleep(EPSILON).await;
            wait.cancel();
            assert!(wait.await.unwrap_err().is_cancelled());
            assert!(probe.done() && probe.cancelled());
            assert!(done.load(Ordering::SeqCst));
        })
        .unwrap();
    }
}

// test_wait_for_issue86296: wait_for of a future that completes at once, then the task is
// cancelled at its next await: nothing after that await runs.
#[test]
fn cancel_after_a_completed_wait_for_is_not_lost() {
    let lp = paused();
    let reached_end = flag();
    let r = reached_end.clone();
    lp.run_until_complete(async move {
        let task = spawn(async move {
            wait_for(secs(100), async {}).await.unwrap();
            sleep(secs(1)).await;
            r.store(true, Ordering::SeqCst);
        });
        sleep(EPSILON).await;
        assert!(!task.done());
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert!(!reached_end.load(Ordering::SeqCst));
}

// test_wait_for (cancelling() after): the task running wait_for is not left with a request.
#[test]
fn wait_for_leaves_no_request_behind() {
    let lp = paused();
    let count = lp
        .run_until_complete(async {
            spawn(async {
                let inner = slow_to_cancel(secs(1), flag());
                assert!(wait_for(secs(1), inner).await.is_err());
                current_task().unwrap().cancelling()
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(count, 0);
}
