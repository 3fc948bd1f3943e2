//! Timeouts on the multi-thread runtime, where the task that times out and the task it waits
//! for run on different workers: the awaited task is cancelled and waited for (nothing of it
//! is alive when the timeout returns), an outside cancellation racing with the deadline never
//! turns into a value, and nested timeouts report to the right level. Each scenario runs 200
//! rounds; deadlines are zero or already due, so no real time is waited for. Ports of CPython's
//! `test_waitfor.py` (`test_wait_for_waits_for_task_cancellation`,
//! `..._w_timeout_0`, `test_cancel_wait_for`) and `test_timeouts.py`
//! (`test_nested_timeouts_loop_busy`, `test_nested_timeouts_concurrent`) on workers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tower_task::error::TimeoutError;
use tower_task::runtime::{Runtime, RuntimeBuilder};
use tower_task::{
    Task, TaskRef, catch_cancel, current_task, reraise, spawn, timeout, timeout_scope, wait_for,
    wait_for_task,
};

/// Rounds per scenario.
const ROUNDS: usize = 200;

/// A two-worker runtime.
fn runtime() -> Runtime {
    RuntimeBuilder::new().worker_threads(2).build().unwrap()
}

/// Counts itself alive from creation until dropped.
struct Alive(Arc<AtomicUsize>);

impl Alive {
    fn new(count: &Arc<AtomicUsize>) -> Alive {
        count.fetch_add(1, Ordering::SeqCst);
        Alive(count.clone())
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A task that waits forever; cancelled, it cleans up over a few polls (an async cleanup) and
/// lets the cancellation go on. `alive` counts it until its future is gone.
fn slow_to_cancel(alive: Arc<AtomicUsize>) -> Task<()> {
    spawn(async move {
        let _alive = Alive::new(&alive);
        if let Err(c) = catch_cancel(tower_coro::pending::<()>()).await {
            for _ in 0..3 {
                tower_coro::yield_now().await;
            }
            reraise::<()>(c).await;
        }
    })
}

// test_wait_for_waits_for_task_cancellation on workers: the awaited task (on any worker) is
// cancelled at the deadline and its cleanup has finished when the timeout returns.
#[test]
fn awaited_task_is_gone_when_the_timeout_returns() {
    let rt = runtime();
    for round in 0..ROUNDS {
        let alive = Arc::new(AtomicUsize::new(0));
        let a = alive.clone();
        let (r, alive_then, inner_done, count) = rt
            .block_on(rt.spawn(async move {
                let inner = slow_to_cancel(a.clone());
                let probe = inner.task_ref().clone();
                let r = if round % 2 == 0 {
                    timeout(Duration::ZERO, inner).await.map(|_| ())
                } else {
                    wait_for(Duration::from_nanos(1), inner).await.map(|_| ())
                };
                let count = current_task().unwrap().cancelling();
                (r, a.load(Ordering::SeqCst), probe.done(), count)
            }))
            .unwrap()
            .unwrap();
        assert_eq!(r, Err(TimeoutError), "round {round}");
        assert_eq!(
            alive_then, 0,
            "round {round}: the awaited task outlived the timeout"
        );
        assert!(inner_done, "round {round}");
        assert_eq!(count, 0, "round {round}");
        assert_eq!(alive.load(Ordering::SeqCst), 0);
    }
}

// test_wait_for_waits_for_task_cancellation_w_timeout_0 on workers: wait_for_task with a zero
// timeout cancels the task and waits for it.
#[test]
fn zero_timeout_waits_for_the_task_on_workers() {
    let rt = runtime();
    for round in 0..ROUNDS {
        let alive = Arc::new(AtomicUsize::new(0));
        let a = alive.clone();
        let (r, alive_then) = rt
            .block_on(rt.spawn(async move {
                let inner = slow_to_cancel(a.clone());
                if round % 2 == 0 {
                    tower_coro::yield_now().await; // let it start, sometimes
                }
                let r = wait_for_task(Duration::ZERO, inner).await;
                (r.map(|_| ()), a.load(Ordering::SeqCst))
            }))
            .unwrap()
            .unwrap();
        assert_eq!(r, Err(TimeoutError), "round {round}");
        assert_eq!(alive_then, 0, "round {round}");
    }
}

// The timeout given straight to block_on (no task: it delivers its own request) waits for a
// task running on a worker.
#[test]
fn without_a_task_the_timeout_waits_for_a_worker_task() {
    let rt = runtime();
    for round in 0..ROUNDS {
        let alive = Arc::new(AtomicUsize::new(0));
        let a = alive.clone();
        let (r, alive_then) = rt
            .block_on(async move {
                let inner = slow_to_cancel(a.clone());
                let r = timeout(Duration::ZERO, inner).await;
                (r.map(|_| ()), a.load(Ordering::SeqCst))
            })
            .unwrap();
        assert_eq!(r, Err(TimeoutError), "round {round}");
        assert_eq!(alive_then, 0, "round {round}");
    }
}

// test_cancel_wait_for on workers, racing with the deadline: the task running the timeout is
// cancelled from the test thread while its timeout expires. Every other round the cancel is
// made while the awaited task is cleaning up (the timeout is expiring): the task ends
// cancelled, not with TimeoutError. In the other rounds it lands anywhere: the task never ends
// with the awaited task's value (a cancel counted before the timeout was entered is part of
// its count on entry, and then it is TimeoutError, as in asyncio). Whatever the outcome, the
// awaited task is gone by then.
#[test]
fn outside_cancel_racing_with_the_deadline() {
    let rt = runtime();
    for round in 0..ROUNDS {
        let controlled = round % 2 == 0;
        let alive = Arc::new(AtomicUsize::new(0));
        let cleaning = Arc::new(AtomicBool::new(false));
        let go = Arc::new(AtomicBool::new(false));
        let inner_ref: Arc<Mutex<Option<TaskRef>>> = Arc::default();
        let (a, keep, c, g) = (
            alive.clone(),
            inner_ref.clone(),
            cleaning.clone(),
            go.clone(),
        );
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        let t = rt.spawn(async move {
            let inner = spawn(async move {
                let _alive = Alive::new(&a);
                s.store(true, Ordering::SeqCst);
                if let Err(e) = catch_cancel(tower_coro::pending::<()>()).await {
                    c.store(true, Ordering::SeqCst);
                    while !g.load(Ordering::SeqCst) {
                        tower_coro::yield_now().await;
                    }
                    reraise::<()>(e).await;
                }
            });
            *keep.lock().unwrap() = Some(inner.task_ref().clone());
            while controlled && !started.load(Ordering::SeqCst) {
                // The cancellation then reaches the awaited task's catch_cancel.
                tower_coro::yield_now().await;
            }
            timeout(Duration::ZERO, inner).await.map(|_| ())
        });
        if controlled {
            while !cleaning.load(Ordering::SeqCst) && !t.done() {
                std::thread::yield_now();
            }
        } else if round % 3 != 0 {
            std::thread::yield_now();
        }
        let landed = t.cancel_with("outside");
        go.store(true, Ordering::SeqCst);
        let out = rt.block_on(t).unwrap();
        if let Some(inner) = inner_ref.lock().unwrap().as_ref() {
            assert!(
                inner.done(),
                "round {round}: the awaited task outlived the wait"
            );
        }
        assert_eq!(alive.load(Ordering::SeqCst), 0, "round {round}");
        match out {
            Ok(r) => {
                assert!(
                    !controlled,
                    "round {round}: cancelled while expiring, yet {r:?}"
                );
                assert_eq!(r, Err(TimeoutError), "round {round}");
            }
            Err(e) => {
                assert!(landed && e.is_cancelled(), "round {round}: {e:?}");
            }
        }
    }
}

// test_nested_timeouts_loop_busy / test_nested_timeouts_concurrent on workers: an inner timeout
// whose deadline is due reports to its level and the outer one goes on; an outer one due first
// reports to the outer level, and the inner one is not expired.
#[test]
fn nested_timeouts_report_to_their_level_on_workers() {
    let rt = runtime();
    for round in 0..ROUNDS {
        let alive = Arc::new(AtomicUsize::new(0));
        let a = alive.clone();
        let (inner_first, outer_first, inner_expired, alive_then) = rt
            .block_on(rt.spawn(async move {
                let inner_first = timeout(Duration::from_secs(3600), async {
                    let r = timeout(Duration::ZERO, slow_to_cancel(a.clone())).await;
                    (r.map(|_| ()), a.load(Ordering::SeqCst))
                })
                .await;
                let mut inner_cm = None;
                let outer_first = timeout(Duration::ZERO, async {
                    timeout_scope(Some(Duration::from_secs(3600)), |cm| {
                        inner_cm = Some(cm);
                        slow_to_cancel(a.clone())
                    })
                    .await
                })
                .await;
                let inner_expired = inner_cm.unwrap().expired();
                (
                    inner_first,
                    outer_first.map(|_| ()),
                    inner_expired,
                    a.load(Ordering::SeqCst),
                )
            }))
            .unwrap()
            .unwrap();
        assert_eq!(inner_first, Ok((Err(TimeoutError), 0)), "round {round}");
        assert_eq!(outer_first, Err(TimeoutError), "round {round}");
        assert!(!inner_expired, "round {round}");
        assert_eq!(alive_then, 0, "round {round}");
    }
}
