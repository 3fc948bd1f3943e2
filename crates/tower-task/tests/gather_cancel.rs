//! Cancelling the task that awaits a gather: ports of CPython's `test_tasks.py` gather
//! cancellation scenarios (`test_cancel_gather_1/2`, `GatherTestsBase.test_one_cancellation`,
//! issue 32684) onto asyncio's `_GatheringFuture` model: every child still running is cancelled
//! with the awaiter's message, the gather waits for all of them, then raises. Virtual time only.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tower_task::error::{GatherError, TaskError};
use tower_task::{
    TaskRef, catch_cancel, current_task, gather, gather_settled, reraise, sleep, spawn, try_gather,
};

mod common;
use common::{DropFlag, flag, paused, secs};

/// A child that sleeps long; on cancellation it cleans up for `cleanup` seconds (an await),
/// records the message it got and that it cleaned up, and re-raises.
async fn cleaner(cleanup: u64, cleaned: Arc<AtomicUsize>, msgs: Arc<Mutex<Vec<String>>>) -> u64 {
    match catch_cancel(sleep(secs(100))).await {
        Ok(()) => 0,
        Err(c) => {
            sleep(secs(cleanup)).await;
            msgs.lock()
                .unwrap()
                .push(c.message().unwrap_or_default().to_owned());
            cleaned.fetch_add(1, Ordering::SeqCst);
            reraise(c).await
        }
    }
}

/// A child that catches its cancellation and returns `v` instead.
async fn returns_after_catching(v: u64) -> u64 {
    match catch_cancel(sleep(secs(100))).await {
        Ok(()) => 0,
        Err(_) => v,
    }
}

// test_cancel_gather_2 and `_GatheringFuture.cancel`: cancelling the task awaiting a gather
// cancels every child with the same message, and the awaiter sees its cancellation only once
// every child has finished its (awaiting) cleanup.
#[test]
fn cancelling_the_awaiter_cancels_every_child_and_waits_for_their_cleanup() {
    let lp = paused();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let msgs = Arc::new(Mutex::new(Vec::new()));
    let (c2, m2) = (cleaned.clone(), msgs.clone());
    lp.run_until_complete(async move {
        let g = gather([3u64, 1, 2].map(|s| cleaner(s, c2.clone(), m2.clone())));
        let children = g.task_refs().to_vec();
        let awaiter = spawn(g);
        sleep(secs(1)).await;
        assert!(awaiter.cancel_with("stop"));
        match awaiter.await {
            Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("stop")),
            other => panic!("expected the awaiter cancelled, got {other:?}"),
        }
        // Every child was done (cleanup included) when the awaiter resolved.
        assert_eq!(c2.load(Ordering::SeqCst), 3);
        for child in &children {
            assert!(child.cancelled());
            assert_eq!(child.cancelling(), 1);
        }
    })
    .unwrap();
    assert_eq!(cleaned.load(Ordering::SeqCst), 3);
    assert_eq!(*msgs.lock().unwrap(), ["stop", "stop", "stop"]);
}

// test_cancel_gather_2 (issue 32684): `return_exceptions=True` does not swallow the awaiter's
// cancellation. A task gathering in a loop must end cancelled, not get a list of cancelled
// outcomes and go round again.
#[test]
fn settled_raises_the_cancellation_instead_of_returning_outcomes() {
    let lp = paused();
    let rounds = Arc::new(AtomicUsize::new(0));
    let r2 = rounds.clone();
    let out = lp
        .run_until_complete(async move {
            let awaiter = spawn(async move {
                for _ in 0..20 {
                    r2.fetch_add(1, Ordering::SeqCst);
                    let _ = gather_settled([sleep(secs(1))]).await;
                }
                "looped to the end"
            });
            sleep(secs(3)).await;
            awaiter.cancel();
            awaiter.await
        })
        .unwrap();
    assert!(out.unwrap_err().is_cancelled());
    assert!(rounds.load(Ordering::SeqCst) < 20);
}

// _GatheringFuture's `_cancel_requested`: a child that catches its cancellation and returns a
// value does not turn the awaiter's cancellation into a result (gather).
#[test]
fn a_child_returning_a_value_after_catching_still_leaves_gather_s_awaiter_cancelled() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let g = gather([returns_after_catching(7), returns_after_catching(8)]);
            let children = g.task_refs().to_vec();
            let awaiter = spawn(g);
            sleep(secs(1)).await;
            awaiter.cancel();
            let out = awaiter.await;
            // The children finished with their values; the awaiter is cancelled all the same.
            assert!(children.iter().all(|c| c.done() && !c.cancelled()));
            out
        })
        .unwrap();
    assert!(out.unwrap_err().is_cancelled());
}

// The same for gather_settled (asyncio: regardless of return_exceptions).
#[test]
fn a_child_returning_a_value_after_catching_still_leaves_settled_s_awaiter_cancelled() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let g = gather_settled([returns_after_catching(7), returns_after_catching(8)]);
            let children = g.task_refs().to_vec();
            let awaiter = spawn(g);
            sleep(secs(1)).await;
            awaiter.cancel();
            let out = awaiter.await;
            assert!(children.iter().all(|c| c.done() && !c.cancelled()));
            out
        })
        .unwrap();
    assert!(out.unwrap_err().is_cancelled());
}

// The same for try_gather: an `Err` value returned meanwhile is an outcome the cancellation
// wins over.
#[test]
fn a_child_returning_after_catching_still_leaves_try_gather_s_awaiter_cancelled() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let g = try_gather([
                Box::pin(async { Ok::<u64, &str>(returns_after_catching(7).await) })
                    as std::pin::Pin<Box<dyn Future<Output = _> + Send>>,
                Box::pin(async {
                    let _ = catch_cancel(sleep(secs(100))).await;
                    Err("failed during cleanup")
                }),
            ]);
            let children = g.task_refs().to_vec();
            let awaiter = spawn(g);
            sleep(secs(1)).await;
            awaiter.cancel();
            let out = awaiter.await;
            assert!(children.iter().all(|c| c.done() && !c.cancelled()));
            out
        })
        .unwrap();
    assert!(out.unwrap_err().is_cancelled());
}

// asyncio: `try: await gather(...) except CancelledError: ...` — the gather's cancellation is
// raised out of its await once the children are done, and a scope around it catches it; the
// awaiter's cancellation count is not changed by catching.
#[test]
fn catch_cancel_around_the_gather_catches_it_after_the_children_are_done() {
    let lp = paused();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let msgs = Arc::new(Mutex::new(Vec::new()));
    let (c2, m2) = (cleaned.clone(), msgs.clone());
    let out = lp
        .run_until_complete(async move {
            let awaiter = spawn(async move {
                let g = gather([2u64, 4].map(|s| cleaner(s, c2.clone(), m2.clone())));
                let children = g.task_refs().to_vec();
                match catch_cancel(g).await {
                    Ok(v) => panic!("gather completed: {v:?}"),
                    Err(c) => {
                        assert!(children.iter().all(TaskRef::cancelled));
                        assert_eq!(c2.load(Ordering::SeqCst), 2);
                        assert_eq!(current_task().unwrap().cancelling(), 1);
                        format!("caught {:?}", c.message())
                    }
                }
            });
            sleep(secs(1)).await;
            awaiter.cancel_with("enough");
            awaiter.await
        })
        .unwrap();
    assert_eq!(out.unwrap(), "caught Some(\"enough\")");
}

// test_cancel_gather_1, seen from the awaiting task: the request arrives after every child
// finished (asyncio: `_GatheringFuture.cancel` then returns False and the awaiting task's
// `_must_cancel` raises at its next step). The finished child is not cancelled; the awaiter
// still is.
#[test]
fn a_request_after_every_child_finished_still_cancels_the_awaiter() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let awaiter_ref: Arc<OnceLock<TaskRef>> = Arc::new(OnceLock::new());
            let a2 = awaiter_ref.clone();
            let g = gather([async move {
                sleep(secs(1)).await;
                // Cancel the awaiter in the very poll in which this child finishes.
                a2.get().unwrap().cancel_with("late");
                42
            }]);
            let child = g.task_refs()[0].clone();
            let awaiter = spawn(g);
            awaiter_ref.set(awaiter.task_ref().clone()).unwrap();
            let out = awaiter.await;
            assert!(child.done() && !child.cancelled());
            assert_eq!(child.cancelling(), 0);
            out
        })
        .unwrap();
    match out {
        Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("late")),
        other => panic!("expected the awaiter cancelled, got {other:?}"),
    }
}

// A second cancellation of the awaiter while the gather waits for its children is passed on
// again (asyncio: each `Task.cancel` calls `_GatheringFuture.cancel`, which cancels the
// children still running).
#[test]
fn a_second_request_cancels_the_children_still_running_again() {
    let lp = paused();
    let twice = Arc::new(AtomicUsize::new(0));
    let t2 = twice.clone();
    let out = lp
        .run_until_complete(async move {
            let g = gather([1, 2].map(|_| {
                let t = t2.clone();
                async move {
                    if let Err(c) = catch_cancel(sleep(secs(100))).await {
                        // A long cleanup, itself cut short by the second request.
                        if catch_cancel(sleep(secs(50))).await.is_err() {
                            t.fetch_add(1, Ordering::SeqCst);
                        }
                        reraise::<()>(c).await;
                    }
                }
            }));
            let children = g.task_refs().to_vec();
            let awaiter = spawn(g);
            sleep(secs(1)).await;
            awaiter.cancel_with("first");
            sleep(secs(1)).await;
            assert!(!awaiter.done()); // still waiting for the cleanups
            awaiter.cancel_with("second");
            let out = awaiter.await;
            assert!(children.iter().all(|c| c.cancelling() == 2));
            out
        })
        .unwrap();
    match out {
        Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("second")),
        other => panic!("expected the awaiter cancelled, got {other:?}"),
    }
    assert_eq!(twice.load(Ordering::SeqCst), 2);
}

// GatherTestsBase.test_one_cancellation: a child cancelled by someone else, not through the
// gather, is an outcome — gather's failure — and the awaiter is not cancelled.
#[test]
fn a_child_cancelled_by_someone_else_is_gather_s_failure() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let awaiter = spawn(async {
                let g = gather([1u64, 10].map(|s| async move {
                    sleep(secs(s)).await;
                    s
                }));
                g.task_refs()[1].cancel_with("just this one");
                let r = g.await;
                (current_task().unwrap().cancelling(), r)
            });
            awaiter.await.unwrap()
        })
        .unwrap();
    assert_eq!(out.0, 0);
    let out = out.1;
    match out {
        Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("just this one")),
        other => panic!("expected the child's cancellation, got {other:?}"),
    }
}

// Errors raised during a cancellation are not lost: a child that panics in its cleanup is
// gather's failure, returned to the awaiter instead of the cancellation.
#[test]
fn a_child_panicking_in_its_cleanup_is_returned_by_gather() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let awaiter = spawn(async {
                let r = gather([
                    Box::pin(returns_after_catching(1))
                        as std::pin::Pin<Box<dyn Future<Output = u64> + Send>>,
                    Box::pin(async {
                        let _ = catch_cancel(sleep(secs(100))).await;
                        panic!("cleanup failed")
                    }),
                ])
                .await;
                ("not cancelled", r)
            });
            sleep(secs(1)).await;
            awaiter.cancel();
            awaiter.await
        })
        .unwrap();
    let (what, r) = out.unwrap();
    assert_eq!(what, "not cancelled");
    match r {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), "cleanup failed"),
        other => panic!("expected the panic, got {other:?}"),
    }
}

// The same for try_gather: the panic comes back as `GatherError::Task`.
#[test]
fn a_child_panicking_in_its_cleanup_is_returned_by_try_gather() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let awaiter = spawn(async {
                try_gather([async {
                    let _ = catch_cancel(sleep(secs(100))).await;
                    if true {
                        panic!("cleanup failed");
                    }
                    Ok::<u8, ()>(1)
                }])
                .await
            });
            sleep(secs(1)).await;
            awaiter.cancel();
            awaiter.await
        })
        .unwrap();
    match out.unwrap() {
        Err(GatherError::Task(e)) => assert!(e.is_panic()),
        other => panic!("expected the panic, got {other:?}"),
    }
}

// gather_settled raises the cancellation (issue 32684) and reports a child's panic seen then
// to the loop's exception handler, so that it is not lost.
#[test]
fn settled_reports_a_child_s_panic_and_raises_the_cancellation() {
    let lp = paused();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r2 = reports.clone();
    lp.set_exception_handler(move |_, ctx| r2.borrow_mut().push(ctx.message.clone()));
    let out = lp
        .run_until_complete(async {
            let awaiter = spawn(gather_settled([async {
                let _ = catch_cancel(sleep(secs(100))).await;
                panic!("cleanup failed")
            }]));
            sleep(secs(1)).await;
            awaiter.cancel();
            let out = awaiter.await;
            // Reported by the gather before it raised (not later, by a detached child).
            assert_eq!(reports.borrow().len(), 1, "{:?}", reports.borrow());
            out
        })
        .unwrap();
    assert!(out.unwrap_err().is_cancelled());
    let reports = reports.borrow();
    assert!(reports[0].contains("gather"), "{reports:?}");
    assert!(reports[0].contains("cleanup failed"), "{reports:?}");
}

// Hard cancel: a gather dropped before it completed (here: by a `select` whose other side won)
// cannot wait, but still cancels every child still running.
#[test]
fn dropping_the_gather_still_cancels_the_children() {
    let lp = paused();
    let (dropped, resumed) = (flag(), flag());
    let (d, r) = (dropped.clone(), resumed.clone());
    lp.run_until_complete(async move {
        let g = gather([async move {
            let _flag = DropFlag(d);
            sleep(secs(10)).await;
            r.store(true, Ordering::SeqCst);
        }]);
        let child = g.task_refs()[0].clone();
        let won = tower_coro::select(g, sleep(secs(1))).await;
        assert!(matches!(won, tower_coro::Either::Right(())));
        sleep(secs(1)).await;
        assert!(child.cancelled());
    })
    .unwrap();
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!resumed.load(Ordering::SeqCst));
}
