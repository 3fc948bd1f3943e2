//! A timeout cancels its task and turns the cancellation that comes back into `TimeoutError`
//! (asyncio's `timeouts.py`): ports of CPython's `test_timeouts.py` scenarios about
//! cancellation, counting (`cancelling()`/`uncancel()`), outside cancellations and what the
//! timed future does with the cancellation. Virtual time only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tower_task::error::{TaskError, TimeoutError};
use tower_task::{catch_cancel, current_task, reraise, sleep, spawn, timeout, wait_for};

mod common;
use common::{flag, paused, secs};

/// The running task's `cancelling()`.
fn cancelling() -> u32 {
    current_task().unwrap().cancelling()
}

/// A task that sleeps `secs(3600)`; when cancelled it cleans up for `cleanup` (an await),
/// sets `done`, and lets the cancellation go on.
fn slow_to_cancel(cleanup: Duration, done: Arc<AtomicBool>) -> tower_task::Task<&'static str> {
    spawn(async move {
        match catch_cancel(sleep(secs(3600))).await {
            Ok(()) => "slept",
            Err(c) => {
                sleep(cleanup).await;
                done.store(true, Ordering::SeqCst);
                reraise(c).await
            }
        }
    })
}

// test_timeout_basic, in a task: the timeout cancels the task, takes the cancellation back as
// TimeoutError, and the task's cancelling() is back to what it was; the task is not cancelled.
#[test]
fn timeout_turns_its_own_cancellation_into_timeout_error() {
    let lp = paused();
    let t = lp
        .run_until_complete(async {
            let t = spawn(async {
                assert_eq!(cancelling(), 0);
                let r = timeout(secs(1), sleep(secs(10))).await;
                (r, cancelling())
            });
            let probe = t.task_ref().clone();
            let out = t.await.unwrap();
            (out, probe.cancelled())
        })
        .unwrap();
    assert_eq!(t, ((Err(TimeoutError), 0), false));
}

// test_timeout_after_cancellation: a task that caught a cancellation (cancelling() stays 1)
// runs a timeout in its cleanup: the timeout still reports TimeoutError, and the count stays 1.
#[test]
fn timeout_after_a_caught_cancellation_still_times_out() {
    let lp = paused();
    let (r, count) = lp
        .run_until_complete(async {
            spawn(async {
                current_task().unwrap().cancel();
                assert!(catch_cancel(sleep(secs(1))).await.is_err());
                assert_eq!(cancelling(), 1);
                let r = timeout(Duration::ZERO, sleep(secs(1))).await;
                (r, cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert_eq!(count, 1);
}

// test_waiter_cancelled: the timed future catches the cancellation, and re-raises it: the
// timeout still reports TimeoutError.
#[test]
fn caught_and_reraised_inside_is_still_a_timeout() {
    let lp = paused();
    let seen = flag();
    let s = seen.clone();
    let r = lp
        .run_until_complete(async move {
            spawn(timeout(secs(1), async move {
                if let Err(c) = catch_cancel(sleep(secs(10))).await {
                    s.store(true, Ordering::SeqCst);
                    reraise::<()>(c).await;
                }
            }))
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
    assert!(seen.load(Ordering::SeqCst));
}

// test_wait_for_waits_for_task_cancellation, through `timeout`: an awaited task is cancelled at
// the deadline and its async cleanup runs before the timeout returns.
#[test]
fn awaited_task_is_cancelled_and_cleaned_up_before_the_timeout_returns() {
    let lp = paused();
    let done = flag();
    let d = done.clone();
    let (r, done_then, inner_cancelled) = lp
        .run_until_complete(async move {
            spawn(async move {
                let inner = slow_to_cancel(secs(5), d.clone());
                let probe = inner.task_ref().clone();
                let r = timeout(secs(1), inner).await;
                (r, d.load(Ordering::SeqCst), probe.cancelled())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r.map(|_| ()), Err(TimeoutError));
    assert!(
        done_then,
        "the timeout returned before the task's cleanup ran"
    );
    assert!(inner_cancelled);
}

// The same without a task (the timeout given straight to run_until_complete): the timeout
// delivers its own request, which the task handle passes on; the cleanup runs first too.
#[test]
fn without_a_task_the_awaited_task_is_cancelled_and_waited_for() {
    let lp = paused();
    let done = flag();
    let d = done.clone();
    let (r, done_then) = lp
        .run_until_complete(async move {
            let inner = slow_to_cancel(secs(5), d.clone());
            let r = timeout(secs(1), inner).await;
            (r, d.load(Ordering::SeqCst))
        })
        .unwrap();
    assert_eq!(r.map(|_| ()), Err(TimeoutError));
    assert!(done_then);
}

// test_wait_for_cancel_suppressed / test_wait_for_cancellation_race_condition: the timed
// future catches the cancellation and returns a value: Ok(value), and the task is not left
// cancelled (cancelling() back to 0).
#[test]
fn future_that_catches_and_returns_gives_its_value() {
    let lp = paused();
    let (r, count, task_cancelled) = lp
        .run_until_complete(async {
            let t = spawn(async {
                let r = timeout(secs(1), async {
                    match catch_cancel(sleep(secs(10))).await {
                        Ok(()) => 0,
                        Err(_) => 42,
                    }
                })
                .await;
                sleep(secs(1)).await; // would be cut short if a request were left
                (r, cancelling())
            });
            let probe = t.task_ref().clone();
            let (r, count) = t.await.unwrap();
            (r, count, probe.cancelled())
        })
        .unwrap();
    assert_eq!(r, Ok(42));
    assert_eq!(count, 0);
    assert!(!task_cancelled);
}

// The same with the cancellation passed on to an awaited task that catches it and returns.
#[test]
fn awaited_task_that_catches_and_returns_gives_its_value() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            spawn(async {
                let inner = spawn(async {
                    match catch_cancel(sleep(secs(10))).await {
                        Ok(()) => "slept",
                        Err(_) => "caught",
                    }
                });
                let r = timeout(secs(1), inner).await;
                (r, cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r.0.unwrap().unwrap(), "caught");
    assert_eq!(r.1, 0);
}

// No CPython test of its own (asyncio's __aexit__ with _task.uncancel() > _cancelling): the
// task is cancelled from outside while its timeout is expiring (the deadline passed and the
// timed future is still cleaning up): the task ends cancelled, not with TimeoutError.
#[test]
fn outside_cancel_while_expiring_ends_the_task_cancelled() {
    let lp = paused();
    let reported = flag();
    let rep = reported.clone();
    let out = lp
        .run_until_complete(async move {
            let t = spawn(async move {
                let r = timeout(secs(1), async {
                    if let Err(c) = catch_cancel(sleep(secs(10))).await {
                        sleep(secs(5)).await; // cleanup, still going at t = 2
                        reraise::<()>(c).await;
                    }
                })
                .await;
                rep.store(true, Ordering::SeqCst);
                r
            });
            sleep(secs(2)).await;
            assert!(t.cancel_with("from outside"));
            t.await
        })
        .unwrap();
    match out {
        Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("from outside")),
        other => panic!("expected the task cancelled, got {other:?}"),
    }
    assert!(!reported.load(Ordering::SeqCst));
}

// The same when the timeout waits for an awaited task's cleanup: the outside cancellation
// passes on to that task too, and the waiting task ends cancelled.
#[test]
fn outside_cancel_while_waiting_for_a_cancelled_task_ends_cancelled() {
    let lp = paused();
    let done = flag();
    let d = done.clone();
    let out = lp
        .run_until_complete(async move {
            let t = spawn(async move {
                let inner = slow_to_cancel(secs(5), d);
                timeout(secs(1), inner).await
            });
            sleep(secs(2)).await;
            t.cancel();
            t.await
        })
        .unwrap();
    assert!(out.unwrap_err().is_cancelled());
}

// test_foreign_cancel_doesnt_timeout_if_not_expired, caught around the timeout: cancelled from
// outside before the deadline, the timeout lets the cancellation (with its message) go on to
// the catch_cancel around it; it is not a TimeoutError, and the timeout is not expired.
#[test]
fn outside_cancel_before_the_deadline_is_not_a_timeout() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let t = spawn(async {
                let mut t = timeout(secs(10), Box::pin(sleep(secs(100))));
                let r = catch_cancel(&mut t).await;
                (r.map(|_| ()), t.expired())
            });
            sleep(secs(1)).await;
            t.cancel_with("outside");
            t.await.unwrap()
        })
        .unwrap();
    let (r, expired) = out;
    assert_eq!(r.unwrap_err().message(), Some("outside"));
    assert!(!expired);
}

// test_cancel_in_timeout_after_cancellation: after a caught cancellation (cancelling() = 1),
// the task cancels itself inside a timeout: that is not a timeout, the cancellation goes on
// (caught here around the timeout).
#[test]
fn self_cancel_inside_a_timeout_goes_on() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            spawn(async {
                current_task().unwrap().cancel();
                assert!(catch_cancel(sleep(secs(1))).await.is_err());
                catch_cancel(timeout(secs(1), async {
                    current_task().unwrap().cancel_with("again");
                    sleep(secs(2)).await;
                }))
                .await
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r.unwrap_err().message(), Some("again"));
}

// No CPython test of its own (asyncio's uncancel() contract): the timed future catches the
// timeout's cancellation, uncancels it and goes on past the deadline; it completes, the
// timeout gives its value and reports expired, and nothing is left to cancel the task.
#[test]
fn future_that_catches_and_uncancels_goes_on() {
    let lp = paused();
    let (r, expired, count) = lp
        .run_until_complete(async {
            spawn(async {
                let mut t = timeout(
                    secs(1),
                    Box::pin(async {
                        if catch_cancel(sleep(secs(10))).await.is_err() {
                            assert_eq!(current_task().unwrap().uncancel(), 0);
                        }
                        sleep(secs(5)).await;
                        "finished"
                    }),
                );
                let r = (&mut t).await;
                sleep(secs(1)).await;
                (r, t.expired(), cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(r, Ok("finished"));
    assert!(expired);
    assert_eq!(count, 0);
}

// No CPython counterpart (a Rust future can be dropped mid-way): a timeout dropped in the very
// poll in which it expired withdraws the cancellation it requested, so the task is not
// cancelled by a timeout that is gone.
#[test]
fn timeout_dropped_as_it_expires_withdraws_its_cancellation() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            spawn(async {
                let first = tower_coro::race(
                    async { Some(timeout(secs(1), sleep(secs(10))).await) },
                    async {
                        sleep(secs(1)).await;
                        None
                    },
                )
                .await;
                assert!(first.is_none());
                assert_eq!(cancelling(), 0);
                sleep(secs(1)).await;
                "not cancelled"
            })
            .await
        })
        .unwrap();
    assert_eq!(out.unwrap(), "not cancelled");
}

// The same while the timeout waits for an awaited task's cleanup: dropping it withdraws the
// request; the awaited task goes on being cancelled on its own (detached).
#[test]
fn timeout_dropped_while_expiring_withdraws_its_cancellation() {
    let lp = paused();
    let done = flag();
    let d = done.clone();
    let out = lp
        .run_until_complete(async move {
            spawn(async move {
                let inner = slow_to_cancel(secs(5), d.clone());
                let probe = inner.task_ref().clone();
                let first =
                    tower_coro::race(async { Some(timeout(secs(1), inner).await) }, async {
                        sleep(secs(2)).await;
                        None
                    })
                    .await;
                assert!(first.is_none());
                assert_eq!(cancelling(), 0);
                sleep(secs(10)).await;
                (d.load(Ordering::SeqCst), probe.cancelled())
            })
            .await
        })
        .unwrap();
    assert_eq!(out.unwrap(), (true, true));
}

// No CPython counterpart: polling a timeout again after it gave its value is a misuse, as for
// any completed future.
#[test]
#[should_panic(expected = "`Timeout` polled after completion")]
fn polling_after_completion_panics() {
    let lp = paused();
    lp.run_until_complete(async {
        let mut t = timeout(secs(1), Box::pin(async { 1 }));
        assert_eq!((&mut t).await, Ok(1));
        let _ = (&mut t).await;
    })
    .unwrap();
}

// test_wait_for_reraises_exception_during_cancellation: the awaited task panics in its cleanup:
// the panic is not lost behind a TimeoutError.
#[test]
fn panic_during_cancellation_is_not_lost() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            spawn(async {
                let inner = spawn(async {
                    if catch_cancel(sleep(secs(10))).await.is_err() {
                        panic!("FooException");
                    }
                });
                wait_for(secs(1), inner).await
            })
            .await
            .unwrap()
        })
        .unwrap();
    match r {
        Ok(Err(TaskError::Panicked(p))) => assert_eq!(p.message(), "FooException"),
        other => panic!("expected the panic, got {other:?}"),
    }
}

// The count: each expiry adds one request and takes it back, however many timeouts a task
// runs (asyncio's _num_cancels_requested never drifts).
#[test]
fn many_timeouts_leave_the_count_unchanged() {
    let lp = paused();
    let counts = lp
        .run_until_complete(async {
            spawn(async {
                let n = Arc::new(AtomicU32::new(0));
                for i in 0..20u64 {
                    let r = timeout(secs(1), sleep(secs(i % 3))).await;
                    if r.is_err() {
                        n.fetch_add(1, Ordering::SeqCst);
                    }
                }
                (n.load(Ordering::SeqCst), cancelling())
            })
            .await
            .unwrap()
        })
        .unwrap();
    // i % 3 == 2 sleeps past the deadline; 1 is woken at the deadline's instant and loses.
    assert_eq!(counts.1, 0);
    assert_eq!(counts.0, 13);
}

// No CPython test of its own (asyncio's Task.cancel: two cancel()s before the task's next step
// throw one CancelledError): the task is cancelled from outside just as its timeout's deadline
// passes unnoticed; the timeout lets the one cancellation go on, the task catches it, and its
// cleanup (an await) is not cancelled a second time.
#[test]
fn outside_cancel_at_the_deadline_is_delivered_once() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            spawn(async {
                let caught = catch_cancel(timeout(secs(1), async {
                    tower_coro::yield_now().await;
                    // The clock passes the deadline and an outside cancel arrives, both before
                    // the timeout looks at its timer again.
                    tower_loop::get_running_loop().unwrap().advance(secs(2));
                    current_task().unwrap().cancel_with("outside");
                    sleep(secs(10)).await;
                }))
                .await;
                let msg = caught.unwrap_err().message().map(str::to_owned);
                sleep(secs(1)).await; // cleanup
                (msg, cancelling())
            })
            .await
        })
        .unwrap();
    assert_eq!(out.unwrap(), (Some("outside".to_owned()), 1));
}
