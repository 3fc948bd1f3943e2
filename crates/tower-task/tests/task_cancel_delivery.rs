//! A task's cancellation is delivered into it (decision 0006): caught with
//! `catch_cancel`, cleaned up with awaits, re-raised, turned into a value or `uncancel`led;
//! passed on to an awaited task (which is waited for) and to an awaited loop future; counted
//! by `cancelling()`. Ports of CPython `test_tasks.py` cancellation scenarios.
// `spawn(async move { x.await })` reads as asyncio's `create_task(coro())` awaiting `x`.
#![allow(clippy::redundant_async_block)]

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tower_task::error::{Cancelled, TaskError};
use tower_task::{Task, TaskState, catch_cancel, current_task, reraise, sleep, spawn, spawn_local};

mod common;
use common::{flag, paused, secs};

/// Asserts `r` is a cancellation with message `msg`.
fn assert_cancelled<T: std::fmt::Debug>(r: Result<T, TaskError>, msg: Option<&str>) {
    match r {
        Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), msg),
        other => panic!("expected a cancellation ({msg:?}), got {other:?}"),
    }
}

// test_cancel_task_catching: the task catches CancelledError at its await and returns 42.
#[test]
fn a_task_catches_its_cancellation_and_returns_a_value() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let t = spawn(async {
                match catch_cancel(sleep(secs(100))).await {
                    Ok(()) => 0,
                    Err(c) => {
                        assert_eq!(c.message(), Some("stop"));
                        42
                    }
                }
            });
            sleep(secs(1)).await;
            assert!(t.cancel_with("stop"));
            let cancelling = t.cancelling();
            (t.await, cancelling)
        })
        .unwrap();
    assert_eq!(r.0.unwrap(), 42);
    assert_eq!(r.1, 1);
}

// test_cancel_task_ignoring: after catching, the task awaits again (here: a sleep and another
// task) before returning; the cleanup's awaits run normally.
#[test]
fn cleanup_after_a_caught_cancellation_awaits_then_reraises() {
    let lp = paused();
    let steps = Arc::new(AtomicUsize::new(0));
    let s = steps.clone();
    let r = lp
        .run_until_complete(async move {
            let t = spawn(async move {
                let out = catch_cancel(sleep(secs(100))).await;
                let c = out.unwrap_err();
                s.fetch_add(1, Ordering::SeqCst);
                sleep(secs(5)).await; // cleanup that awaits
                s.fetch_add(1, Ordering::SeqCst);
                let helper = spawn(async { 7 });
                assert_eq!(helper.await.unwrap(), 7); // and awaits a task
                s.fetch_add(1, Ordering::SeqCst);
                reraise::<()>(c).await;
                s.fetch_add(100, Ordering::SeqCst); // never runs
            });
            sleep(secs(1)).await;
            t.cancel_with("bye");
            t.await
        })
        .unwrap();
    assert_cancelled(r, Some("bye"));
    assert_eq!(steps.load(Ordering::SeqCst), 3);
}

// test_cancel_current_task-style: code after the suspension point never runs when nothing
// there takes part (the request drops the future), and a value returned while a request waits
// is dropped (test_cancel_at_end).
#[test]
fn a_task_that_cancels_itself_and_returns_ends_cancelled() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let t = spawn(async {
                current_task().unwrap().cancel_with("self");
                12
            });
            t.await
        })
        .unwrap();
    assert_cancelled(r, Some("self"));
}

// test_uncancel_basic: catch, uncancel, go on; the task finishes with its value and a count
// of 0.
#[test]
fn uncancel_after_catching_lets_the_task_go_on() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let t = spawn(async {
                let me = current_task().unwrap();
                let caught = catch_cancel(sleep(secs(10))).await.is_err();
                assert_eq!(me.cancelling(), 1);
                assert_eq!(me.uncancel(), 0);
                sleep(secs(1)).await; // not cancelled again
                (caught, me.cancelling())
            });
            sleep(secs(1)).await;
            t.cancel();
            t.await
        })
        .unwrap();
    assert_eq!(r.unwrap(), (true, 0));
}

// test_cancel_inner_future / test_cancel_both_task_and_inner_future: cancelling a task that
// awaits a loop future cancels the future (its other awaiters see it), and the task.
#[test]
fn cancelling_a_task_cancels_the_loop_future_it_awaits() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let fut = tower_future::create_future::<u8>().unwrap();
            let waiting = fut.clone();
            let t = spawn(async move { waiting.await });
            sleep(secs(1)).await;
            t.cancel_with("go");
            let out = t.await;
            (out, fut.cancelled(), fut.clone().await)
        })
        .unwrap();
    assert_cancelled(r.0, Some("go"));
    assert!(r.1, "the awaited future was not cancelled");
    assert!(r.2.unwrap_err().is_cancelled());
}

// A loop future awaited inside catch_cancel: the future is cancelled, the cancellation goes on
// out of the await to the catch.
#[test]
fn a_cancelled_loop_future_await_is_caught_around_it() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let fut = tower_future::create_future::<u8>().unwrap();
            let waiting = fut.clone();
            let t = spawn(async move { catch_cancel(waiting).await.map_err(|c| c.to_string()) });
            sleep(secs(1)).await;
            t.cancel_with("x");
            (t.await, fut.cancelled())
        })
        .unwrap();
    assert_eq!(r.0.unwrap().unwrap_err(), "cancelled: x");
    assert!(r.1);
}

// test_cancel_awaited_task / test_cancel_wait_for-style nesting: cancelling the outer task
// cancels the inner one it awaits, waits for its cleanup, and the outer ends cancelled only
// after the inner has ended.
#[test]
fn cancelling_a_task_passes_the_cancellation_to_the_task_it_awaits_and_waits() {
    let lp = paused();
    let inner_cleaned = flag();
    let c2 = inner_cleaned.clone();
    let r = lp
        .run_until_complete(async move {
            let inner = spawn(async move {
                if let Err(c) = catch_cancel(sleep(secs(100))).await {
                    assert_eq!(c.message(), Some("outer msg")); // the same message
                    sleep(secs(3)).await; // slow cleanup
                    c2.store(true, Ordering::SeqCst);
                    reraise::<()>(c).await;
                }
            });
            let inner_ref = inner.task_ref().clone();
            let outer = spawn(async move { inner.await });
            sleep(secs(1)).await;
            outer.cancel_with("outer msg");
            let out = outer.await;
            (out, inner_ref.state(), inner_ref.cancelling())
        })
        .unwrap();
    assert_cancelled(r.0, Some("outer msg"));
    assert!(
        inner_cleaned.load(Ordering::SeqCst),
        "outer finished before the inner's cleanup"
    );
    assert_eq!(r.1, TaskState::Cancelled);
    assert_eq!(r.2, 1);
}

// The inner task handles the cancellation and returns a value: the outer's await returns it,
// and the outer goes on (asyncio: the outer is not cancelled; its count stays 1).
#[test]
fn an_awaited_task_that_handles_the_cancellation_returns_its_value_to_the_awaiter() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let inner = spawn(async {
                match catch_cancel(sleep(secs(100))).await {
                    Ok(()) => "slept",
                    Err(_) => "handled",
                }
            });
            let outer = spawn(async move {
                let v = inner.await.unwrap();
                sleep(secs(1)).await;
                (v, current_task().unwrap().cancelling())
            });
            sleep(secs(1)).await;
            outer.cancel();
            outer.await
        })
        .unwrap();
    assert_eq!(r.unwrap(), ("handled", 1));
}

// A chain a -> b -> c: the cancellation of a reaches c, then comes back out through b and a.
#[test]
fn cancellation_travels_down_a_chain_of_awaited_tasks_and_back() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let c = spawn(async { sleep(secs(100)).await });
            let c_ref = c.task_ref().clone();
            let b = spawn(async move { c.await });
            let b_ref = b.task_ref().clone();
            let a = spawn(async move { b.await });
            sleep(secs(1)).await;
            a.cancel_with("chain");
            let out = a.await;
            (out, b_ref.cancelled(), c_ref.cancelled())
        })
        .unwrap();
    assert_cancelled(r.0, Some("chain"));
    assert!(r.1 && r.2);
}

// A cancelled task's awaited task that was cancelled by someone else gives the error as a value
// (not a raise): the awaiter handles it.
#[test]
fn a_task_cancelled_by_someone_else_is_an_outcome_for_its_awaiter() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let inner = spawn(async { sleep(secs(100)).await });
            let inner_ref = inner.task_ref().clone();
            let outer = spawn(async move { inner.await.is_err() });
            sleep(secs(1)).await;
            inner_ref.cancel();
            outer.await
        })
        .unwrap();
    assert!(r.unwrap());
}

// test_task_await_self-like (asyncio: RuntimeError "Task cannot await on itself").
#[test]
fn a_task_awaiting_its_own_handle_gets_an_error() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let cell: Rc<RefCell<Option<Task<bool>>>> = Rc::new(RefCell::new(None));
            let c = cell.clone();
            let t = spawn_local(async move {
                tower_coro::yield_now().await;
                let me = c.borrow_mut().take().unwrap();
                matches!(me.await, Err(TaskError::AwaitedItself))
            });
            let id = t.id();
            *cell.borrow_mut() = Some(t);
            sleep(secs(1)).await;
            let tasks = tower_task::all_tasks();
            tasks.iter().all(|t| t.id() != id || t.done())
        })
        .unwrap();
    assert!(r);
}

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop failed");
    }
}

// Errors during cancellation are not lost: a future whose drop panics while the task is being
// cancelled ends the task Panicked, and its done callbacks still run.
#[test]
fn a_panicking_drop_during_cancellation_ends_the_task_panicked_and_runs_its_callbacks() {
    let lp = paused();
    let called = Arc::new(AtomicBool::new(false));
    let c = called.clone();
    let r = lp
        .run_until_complete(async move {
            let t = spawn(async {
                let _guard = PanicOnDrop;
                sleep(secs(100)).await;
            });
            t.add_done_callback(move |_| c.store(true, Ordering::SeqCst));
            sleep(secs(1)).await;
            t.cancel();
            let out = t.await;
            sleep(secs(1)).await; // the callback runs in a later iteration
            out
        })
        .unwrap();
    match r {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), "drop failed"),
        other => panic!("expected the drop's panic, got {other:?}"),
    }
    assert!(called.load(Ordering::SeqCst), "the done callback never ran");
}

/// A gate a task waits at (takes no part in cancellation): `open` wakes the waiter.
#[derive(Clone, Default)]
struct Gate(Rc<RefCell<(bool, Option<std::task::Waker>)>>);

impl Gate {
    fn open(&self) {
        let w = {
            let mut g = self.0.borrow_mut();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut g = self.0.borrow_mut();
            if g.0 {
                std::task::Poll::Ready(())
            } else {
                g.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

// A cancellation that arrives while the task is suspended where nothing takes part drops the
// future without running any more of it, even if what it waited for is ready by then
// (test_cancel_current_task; asyncio raises at that suspension point).
#[test]
fn code_after_an_unaware_suspension_point_never_runs() {
    let lp = paused();
    let ran_after = flag();
    let f = ran_after.clone();
    let r = lp
        .run_until_complete(async move {
            let gate = Gate::default();
            let g = gate.clone();
            let t = spawn_local(async move {
                g.wait().await;
                f.store(true, Ordering::SeqCst);
            });
            sleep(secs(1)).await; // t waits at the gate
            gate.open(); // t is ready to run on...
            t.cancel(); // ...but is cancelled first
            t.await
        })
        .unwrap();
    assert!(r.unwrap_err().is_cancelled());
    assert!(!ran_after.load(Ordering::SeqCst));
}

// Cancelling twice counts twice (test_cancelling); the second request is delivered again
// after the first was handled.
#[test]
fn a_second_request_is_delivered_after_the_first_was_handled() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let t = spawn(async {
                let first = catch_cancel(sleep(secs(100))).await.is_err();
                let second = catch_cancel(sleep(secs(100))).await.is_err();
                (first, second, current_task().unwrap().cancelling())
            });
            sleep(secs(1)).await;
            t.cancel();
            sleep(secs(1)).await;
            t.cancel();
            t.await
        })
        .unwrap();
    assert_eq!(r.unwrap(), (true, true, 2));
}

// Nested catch_cancel: the innermost scope catches; the outer one sees only what is re-raised.
#[test]
fn the_innermost_catch_cancel_catches_first() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let t = spawn(async {
                let outer = catch_cancel(async {
                    let inner = catch_cancel(sleep(secs(100))).await;
                    let c = inner.unwrap_err();
                    assert_eq!(c.message(), Some("m"));
                    reraise::<u8>(Cancelled::new(Some("again"))).await
                })
                .await;
                outer.unwrap_err().message().map(str::to_owned)
            });
            sleep(secs(1)).await;
            t.cancel_with("m");
            t.await
        })
        .unwrap();
    assert_eq!(r.unwrap().as_deref(), Some("again"));
}

// On the multi-thread runtime: the outer task (on one worker) is cancelled while it awaits an
// inner task (on any worker) whose cleanup takes a while; when the outer's handle resolves,
// the inner has ended and its cleanup ran. 200 rounds.
#[test]
fn on_the_runtime_a_cancelled_awaiter_resolves_only_after_the_awaited_task_ended() {
    let rt = tower_task::runtime::RuntimeBuilder::new()
        .worker_threads(2)
        .build()
        .unwrap();
    for round in 0..200 {
        let cleaned = Arc::new(AtomicBool::new(false));
        let c2 = cleaned.clone();
        let started = Arc::new(AtomicBool::new(false));
        let s2 = started.clone();
        let outer = rt.spawn(async move {
            let inner = spawn(async move {
                s2.store(true, Ordering::SeqCst);
                if let Err(c) = catch_cancel(tower_coro::pending::<()>()).await {
                    for _ in 0..3 {
                        tower_coro::yield_now().await;
                    }
                    c2.store(true, Ordering::SeqCst);
                    reraise::<()>(c).await;
                }
            });
            inner.await
        });
        while !started.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        outer.cancel_with("round");
        let out = rt.block_on(outer).unwrap();
        assert_cancelled(out, Some("round"));
        assert!(
            cleaned.load(Ordering::SeqCst),
            "round {round}: the inner task outlived the outer"
        );
    }
}

// The hard cancel (tokio's `abort`) stays available: nothing is delivered, the catch never
// runs, a task the aborted one awaited is not told (it was detached), the count is unchanged.
#[test]
fn abort_drops_the_future_without_delivering() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let inner = spawn(async { sleep(secs(10)).await });
            let inner_ref = inner.task_ref().clone();
            let caught = flag();
            let c = caught.clone();
            let outer = spawn(async move {
                if catch_cancel(inner).await.is_err() {
                    c.store(true, Ordering::SeqCst);
                }
            });
            sleep(secs(1)).await;
            assert!(outer.abort());
            let counted = outer.cancelling();
            let out = outer.await;
            sleep(secs(20)).await;
            (
                out,
                caught.load(Ordering::SeqCst),
                inner_ref.state(),
                counted,
            )
        })
        .unwrap();
    assert!(r.0.unwrap_err().is_cancelled());
    assert!(!r.1, "abort was delivered into the task");
    assert_eq!(
        r.2,
        TaskState::Finished,
        "the awaited task was cancelled by an abort"
    );
    assert_eq!(r.3, 0);
}
