//! Cancellation: before start, at a suspension point, after done; messages; counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tower_loop::EventLoop;
use tower_task::error::TaskError;
use tower_task::{current_task, spawn};

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

// test_tasks.py: test_cancel (cancel before the task started: its body never runs)
#[test]
fn cancel_before_start_never_polls_the_future() {
    let lp = EventLoop::new().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let err = lp
        .run_until_complete(async move {
            let t = spawn(async move { r.store(true, Ordering::SeqCst) });
            assert!(t.cancel());
            t.await.unwrap_err()
        })
        .unwrap();
    assert!(err.is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
}

// test_tasks.py: test_cancel_yield (cancel at a suspension point drops the future there)
#[test]
fn cancel_at_a_suspension_point_drops_the_future() {
    let lp = EventLoop::new().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let after = Arc::new(AtomicBool::new(false));
    let (d, a) = (dropped.clone(), after.clone());
    let (err, cancelled) = lp
        .run_until_complete(async move {
            let t = spawn(async move {
                let _guard = DropFlag(d);
                tower_coro::pending::<()>().await;
                a.store(true, Ordering::SeqCst);
            });
            tower_coro::yield_now().await;
            tower_coro::yield_now().await; // it ran up to `pending`
            assert_eq!(t.state(), tower_task::TaskState::Suspended);
            assert!(t.cancel());
            let r = t.task_ref().clone();
            (t.await.unwrap_err(), r.cancelled())
        })
        .unwrap();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(cancelled);
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!after.load(Ordering::SeqCst));
}

// test_tasks.py: test_cancel_done_future / test_cancel_task_... (cancel after done returns False)
#[test]
fn cancel_after_done_returns_false_and_keeps_the_value() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let t = spawn(async { 5 });
        tower_coro::yield_now().await;
        tower_coro::yield_now().await;
        assert!(t.done());
        assert!(!t.cancel_with("too late"));
        assert!(!t.cancelled());
        assert_eq!(t.await.unwrap(), 5);
    })
    .unwrap();
}

// test_tasks.py: test_cancel_with_message_then_future_result / test_cancel_message_...
#[test]
fn the_cancel_message_reaches_the_awaiter() {
    let lp = EventLoop::new().unwrap();
    let err = lp
        .run_until_complete(async {
            let t = spawn(tower_coro::pending::<()>());
            tower_coro::yield_now().await;
            t.cancel_with("my message");
            t.await.unwrap_err()
        })
        .unwrap();
    match err {
        TaskError::Cancelled(c) => assert_eq!(c.message(), Some("my message")),
        e => panic!("{e:?}"),
    }
}

// test_tasks.py: test_cancelling / test_uncancel_basic (counts)
#[test]
fn cancelling_counts_requests_and_uncancel_decrements() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let t = spawn(tower_coro::pending::<()>());
        assert_eq!(t.cancelling(), 0);
        assert!(t.cancel());
        assert!(t.cancel());
        assert_eq!(t.cancelling(), 2);
        assert_eq!(t.uncancel(), 1);
        assert_eq!(t.cancelling(), 1);
        assert!(t.await.unwrap_err().is_cancelled());
    })
    .unwrap();
}

// test_tasks.py: test_uncancel_structured_blocks (uncancel to zero before the task runs again
// withdraws the cancellation)
#[test]
fn uncancel_to_zero_before_the_next_poll_withdraws_the_cancellation() {
    let lp = EventLoop::new().unwrap();
    let v = lp
        .run_until_complete(async {
            let t = spawn(async {
                tower_coro::yield_now().await;
                "survived"
            });
            assert!(t.cancel());
            assert_eq!(t.uncancel(), 0);
            t.await
        })
        .unwrap();
    assert_eq!(v.unwrap(), "survived");
}

// test_tasks.py: test_cancel_current_task (a task cancelling itself stops at its next await)
#[test]
fn a_task_cancelling_itself_stops_at_its_next_suspension() {
    let lp = EventLoop::new().unwrap();
    let steps = Arc::new(AtomicUsize::new(0));
    let s = steps.clone();
    let err = lp
        .run_until_complete(async move {
            spawn(async move {
                s.fetch_add(1, Ordering::SeqCst);
                current_task().unwrap().cancel_with("self");
                s.fetch_add(1, Ordering::SeqCst); // runs: cancellation is at the next await
                tower_coro::yield_now().await;
                s.fetch_add(1, Ordering::SeqCst); // never runs
            })
            .await
            .unwrap_err()
        })
        .unwrap();
    assert!(err.is_cancelled());
    assert_eq!(steps.load(Ordering::SeqCst), 2);
}

// test_tasks.py: test_cancel_with_message_then_future_result / cancel() without a message:
// `cancel()` carries no message, `cancel_with(msg)` carries `msg` to the awaiter.
#[test]
fn cancel_carries_no_message_and_cancel_with_carries_its_own() {
    let lp = EventLoop::new().unwrap();
    let (plain, with) = lp
        .run_until_complete(async {
            let a = spawn(tower_coro::pending::<()>());
            let b = spawn(tower_coro::pending::<()>());
            assert!(a.cancel());
            assert!(b.cancel_with("enough"));
            (a.await.unwrap_err(), b.await.unwrap_err())
        })
        .unwrap();
    match (plain, with) {
        (TaskError::Cancelled(p), TaskError::Cancelled(w)) => {
            assert_eq!(p.message(), None);
            assert_eq!(w.message(), Some("enough"));
        }
        other => panic!("{other:?}"),
    }
}

// test_tasks.py: test_cancel (a second request, and one after done, return False)
#[test]
fn cancel_and_cancel_with_on_a_done_task_return_false() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let t = spawn(async { 1 });
        let probe = t.task_ref().clone();
        assert_eq!(t.await.unwrap(), 1);
        assert!(!probe.cancel());
        assert!(!probe.cancel_with("too late"));
        assert_eq!(probe.cancelling(), 0);
    })
    .unwrap();
}
