//! `timeout_scope` and its `TimeoutHandle` (asyncio's `async with timeout(d) as cm:`): ports of
//! CPython's `test_timeouts.py` reschedule/expired scenarios. Virtual time only.

use tower_loop::{Timer, get_running_loop};
use tower_task::error::TimeoutError;
use tower_task::{timeout_scope, timeout_scope_at};

mod common;
use common::{paused, secs};

// test_reschedule (from inside the block): the body moves its deadline later and finishes.
#[test]
fn body_reschedules_later_and_finishes() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout_scope(Some(secs(1)), |cm| async move {
            cm.reschedule(Some(cm.now() + secs(10)));
            Timer::after(secs(5)).await;
            "finished"
        }))
        .unwrap();
    assert_eq!(r, Ok("finished"));
}

// test_reschedule (earlier, from inside): the body shortens its deadline and expires.
#[test]
fn body_reschedules_earlier_and_expires() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout_scope(Some(secs(100)), |cm| async move {
            cm.reschedule(Some(cm.now() + secs(1)));
            Timer::after(secs(5)).await;
        }))
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
}

// test_timeout_disabled + test_reschedule: a scope entered with no deadline gets one later.
#[test]
fn none_then_deadline_expires() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout_scope(None, |cm| async move {
            assert_eq!(cm.when(), None);
            Timer::after(secs(1)).await;
            cm.reschedule(Some(cm.now() + secs(1)));
            Timer::after(secs(5)).await;
        }))
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
}

// test_reschedule (reschedule(None)): the deadline is removed from inside.
#[test]
fn reschedule_none_from_inside_disables() {
    let lp = paused();
    let r = lp
        .run_until_complete(timeout_scope(Some(secs(1)), |cm| async move {
            cm.reschedule(None);
            Timer::after(secs(5)).await;
            7
        }))
        .unwrap();
    assert_eq!(r, Ok(7));
}

// test_reschedule (from another task; here a loop callback): it wakes the scope and takes
// effect.
#[test]
fn reschedule_from_a_callback_wakes_the_scope() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            timeout_scope(None, |cm| {
                let lp = get_running_loop().unwrap();
                let handle = cm.clone();
                lp.call_later(secs(1), move || handle.reschedule(Some(handle.now())));
                Timer::after(secs(1000))
            })
            .await
        })
        .unwrap();
    assert!(r.is_err());
}

// test_timeout_basic / test_timeout_not_called (cm.expired() after the block): the handle
// outlives the scope and reports.
#[test]
fn handle_reports_expired_after_the_scope() {
    let lp = paused();
    lp.run_until_complete(async {
        let mut kept = None;
        let r = timeout_scope(Some(secs(1)), |cm| {
            kept = Some(cm);
            Timer::after(secs(2))
        })
        .await;
        assert!(r.is_err());
        assert!(kept.take().unwrap().expired());

        let r = timeout_scope(Some(secs(5)), |cm| {
            kept = Some(cm);
            Timer::after(secs(2))
        })
        .await;
        assert!(r.is_ok());
        let cm = kept.unwrap();
        assert!(!cm.expired());
        // test_timeout_finished: rescheduling after exit; asyncio raises RuntimeError, here it is
        // a no-op.
        cm.reschedule(Some(cm.now()));
        assert!(!cm.expired());
    })
    .unwrap();
}

// test_timeout_at_basic: an absolute deadline through timeout_scope_at; when() reports it.
#[test]
fn scope_at_reports_when_and_expires() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let at = get_running_loop().unwrap().time() + secs(3);
            timeout_scope_at(Some(at), move |cm| async move {
                assert_eq!(cm.when(), Some(at));
                Timer::after(secs(4)).await;
            })
            .await
        })
        .unwrap();
    assert_eq!(r, Err(TimeoutError));
}

// test_foreign_cancel_doesnt_timeout_if_not_expired: the task running the scope is cancelled
// before the deadline: the cancellation goes on through the scope (the task ends cancelled),
// and the scope reports not expired.
#[test]
fn foreign_cancel_is_not_a_timeout() {
    let lp = paused();
    lp.run_until_complete(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let t = tower_task::spawn(timeout_scope(Some(secs(10)), move |cm| {
            tx.send(cm).unwrap();
            Timer::after(secs(100))
        }));
        tower_task::sleep(secs(1)).await;
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
        let cm = rx.recv().unwrap();
        assert!(!cm.expired());
    })
    .unwrap();
}

// No CPython counterpart: polling a scope again after it gave its value is a misuse, as for
// any completed future.
#[test]
#[should_panic(expected = "`TimeoutScope` polled after completion")]
fn polling_after_completion_panics() {
    let lp = paused();
    lp.run_until_complete(async {
        let mut s = timeout_scope(Some(secs(1)), |_cm| Box::pin(async { 1 }));
        assert_eq!((&mut s).await, Ok(1));
        let _ = (&mut s).await;
    })
    .unwrap();
}
