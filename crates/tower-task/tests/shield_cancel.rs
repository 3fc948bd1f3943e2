//! `shield`: ports of CPython's `test_tasks.py` `test_shield*` scenarios. Virtual time only.

use std::sync::atomic::Ordering;

use tower_task::{Shield, shield, sleep, spawn};

mod common;
use common::{flag, paused, secs};

// test_shield_result: the shield gives the inner result.
#[test]
fn gives_inner_result() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            shield(async {
                sleep(secs(1)).await;
                42
            })
            .await
        })
        .unwrap();
    assert_eq!(r.unwrap(), 42);
}

// test_shield_effect / test_shield_cancel_outer: cancelling the outer task (the shield's
// awaiter) does not cancel the inner; the outer still sees its cancellation.
#[test]
fn inner_survives_outer_cancellation() {
    let lp = paused();
    let finished = flag();
    let f = finished.clone();
    lp.run_until_complete(async move {
        let outer = spawn(async move {
            shield(async move {
                sleep(secs(5)).await;
                f.store(true, Ordering::SeqCst);
            })
            .await
        });
        sleep(secs(1)).await;
        outer.cancel(Some("outer"));
        assert!(outer.await.unwrap_err().is_cancelled());
        sleep(secs(10)).await;
    })
    .unwrap();
    assert!(finished.load(Ordering::SeqCst));
}

// The same scenario without shield: the inner work is cancelled with the outer (so the test
// above fails without the shield's behaviour).
#[test]
fn without_shield_inner_is_cancelled() {
    let lp = paused();
    let finished = flag();
    let f = finished.clone();
    lp.run_until_complete(async move {
        let outer = spawn(async move {
            sleep(secs(5)).await;
            f.store(true, Ordering::SeqCst);
        });
        sleep(secs(1)).await;
        outer.cancel(None);
        assert!(outer.await.unwrap_err().is_cancelled());
        sleep(secs(10)).await;
    })
    .unwrap();
    assert!(!finished.load(Ordering::SeqCst));
}

// test_shield_cancel_inner: cancelling the inner task itself does reach the awaiter.
#[test]
fn inner_cancellation_reaches_the_awaiter() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let s = shield(async {
                sleep(secs(5)).await;
                1
            });
            s.task_ref().cancel(Some("inner"));
            s.await
        })
        .unwrap();
    assert!(r.unwrap_err().is_cancelled());
}

// test_shield_shortcut: a task is shielded as it is.
#[test]
fn shields_an_existing_task() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            let t = spawn(async { 3 });
            Shield::from(t).await
        })
        .unwrap();
    assert_eq!(r.unwrap(), 3);
}
