//! `shield`: ports of CPython's `test_tasks.py` `test_shield*` scenarios. Virtual time only.

use std::sync::atomic::Ordering;

use tower_task::{Shield, catch_cancel, gather, shield, sleep, spawn};

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
        outer.cancel_with("outer");
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
        outer.cancel();
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
            s.task_ref().cancel_with("inner");
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

// asyncio's shield docs: `try: res = await shield(something()) except CancelledError: ...` —
// the awaiter catches its cancellation around the shield at once, then awaits the inner task
// (kept: taken back from the borrowed shield) and gets its value.
#[test]
fn the_awaiter_catches_around_the_shield_then_awaits_the_inner_task() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let awaiter = spawn(async {
                let mut s = shield(async {
                    sleep(secs(5)).await;
                    "committed"
                });
                let inner = s.task_ref().clone();
                let c = catch_cancel(&mut s).await.unwrap_err();
                // Caught at once: the inner task still runs, and was not cancelled.
                assert!(!inner.done() && inner.cancelling() == 0);
                let v = s.into_task().await.unwrap();
                (c.message().map(str::to_owned), v)
            });
            sleep(secs(1)).await;
            awaiter.cancel_with("hurry");
            awaiter.await
        })
        .unwrap();
    assert_eq!(out.unwrap(), (Some("hurry".to_owned()), "committed"));
}

// test_shield_gather: shielding a gather; the awaiter is cancelled at once, the gather (run as
// the shield's inner task) is not, and its children finish and give their results.
#[test]
fn a_shielded_gather_survives_the_awaiter_s_cancellation() {
    let lp = paused();
    lp.run_until_complete(async {
        let s = shield(gather([3u64, 2].map(|s| async move {
            sleep(secs(s)).await;
            s
        })));
        let inner = s.into_task();
        // The awaiter gets the shield of the gather's task.
        let gather_ref = inner.task_ref().clone();
        let awaiter = spawn(async move {
            let mut s = Shield::from(inner);
            let caught = catch_cancel(&mut s).await;
            (caught.is_err(), s.into_task())
        });
        sleep(secs(1)).await; // the awaiter is suspended on the shield
        awaiter.cancel();
        let (caught, inner) = awaiter.await.unwrap();
        assert!(caught);
        assert!(!gather_ref.done() && gather_ref.cancelling() == 0);
        assert_eq!(inner.await.unwrap().unwrap(), [3, 2]);
    })
    .unwrap();
}

// test_gather_shield: gathering shields; cancelling the gather's awaiter cancels the gather's
// children (each awaits a shield, which raises at once) and the awaiter ends cancelled, while
// the shielded work runs on to completion.
#[test]
fn gathering_shields_cancels_the_awaiter_but_not_the_shielded_work() {
    let lp = paused();
    let (a, b) = (flag(), flag());
    let (a2, b2) = (a.clone(), b.clone());
    lp.run_until_complete(async move {
        let shields = [(a2, 3u64), (b2, 4)].map(|(f, s)| {
            shield(async move {
                sleep(secs(s)).await;
                f.store(true, Ordering::SeqCst);
            })
        });
        let inner: Vec<_> = shields.iter().map(|s| s.task_ref().clone()).collect();
        let g = gather(shields);
        let children = g.task_refs().to_vec();
        let awaiter = spawn(g);
        sleep(secs(1)).await;
        awaiter.cancel();
        assert!(awaiter.await.unwrap_err().is_cancelled());
        // The gather's children (awaiting the shields) are cancelled; the shielded tasks not.
        assert!(children.iter().all(|c| c.cancelled()));
        assert!(inner.iter().all(|t| !t.done() && t.cancelling() == 0));
        sleep(secs(10)).await;
        assert!(
            inner
                .iter()
                .all(|t| t.state() == tower_task::TaskState::Finished)
        );
    })
    .unwrap();
    assert!(a.load(Ordering::SeqCst) && b.load(Ordering::SeqCst));
}
