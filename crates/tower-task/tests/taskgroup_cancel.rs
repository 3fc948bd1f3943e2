//! `TaskGroup`: the parent's cancellation, and tasks refused after shutdown. Ports of CPython's
//! `test_asyncio/test_taskgroups.py`. Virtual time only.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tower_task::error::CreateTaskError;
use tower_task::{TaskGroup, sleep, spawn};

mod common;
use common::{DropFlag, flag, paused, secs};

// test_cancellation / test_taskgroup_07: cancelling the parent task is delivered into the
// body (here suspended where nothing takes part, so the group drops it); the group cancels
// every child, waits for them, and raises the cancellation on: the parent's awaiter sees it.
#[test]
fn parent_cancellation_cancels_children() {
    let lp = paused();
    let (dropped, resumed) = (flag(), flag());
    let (d, r2) = (dropped.clone(), resumed.clone());
    lp.run_until_complete(async move {
        let parent = spawn(TaskGroup::run(|tg| async move {
            tg.create_task(async move {
                let _flag = DropFlag(d);
                sleep(secs(10)).await;
                r2.store(true, Ordering::SeqCst);
                Ok::<_, ()>(())
            })
            .unwrap();
            sleep(secs(10)).await;
            Ok(())
        }));
        sleep(secs(1)).await;
        parent.cancel_with("stop");
        let out = parent.await;
        assert!(out.unwrap_err().is_cancelled());
        // Let the cancelled child's task run its cancellation.
        sleep(secs(1)).await;
    })
    .unwrap();
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!resumed.load(Ordering::SeqCst));
}

// test_taskgroup_22 ("cancel during cleanup"): the body has returned and the group is waiting
// for its children when the parent is cancelled: the children are cancelled (and awaited).
#[test]
fn parent_cancelled_while_joining_cancels_children() {
    let lp = paused();
    let (dropped, body_done) = (flag(), flag());
    let (d, b) = (dropped.clone(), body_done.clone());
    lp.run_until_complete(async move {
        let parent = spawn(TaskGroup::run(|tg| async move {
            tg.create_task(async move {
                let _flag = DropFlag(d);
                sleep(secs(100)).await;
                Ok::<_, ()>(())
            })
            .unwrap();
            b.store(true, Ordering::SeqCst);
            Ok(())
        }));
        sleep(secs(1)).await;
        assert!(body_done.load(Ordering::SeqCst), "the group is joining");
        parent.cancel();
        assert!(parent.await.unwrap_err().is_cancelled());
        sleep(secs(1)).await;
        assert!(dropped.load(Ordering::SeqCst));
    })
    .unwrap();
}

// asyncio's create_task RuntimeError("... is finished") (taskgroups.py): once a failed group
// has finished, a new task is refused with a typed error and its future dropped unpolled.
#[test]
fn create_task_after_failure_is_refused() {
    let lp = paused();
    let refused = lp
        .run_until_complete(async {
            let mut kept = None;
            let r = TaskGroup::run(|tg| {
                kept = Some(tg.clone());
                let tg2 = tg.clone();
                async move {
                    tg2.create_task(async { Err::<(), _>("boom") }).unwrap();
                    sleep(secs(10)).await;
                    Ok(())
                }
            })
            .await;
            assert!(r.is_err());
            let tg = kept.unwrap();
            assert!(tg.is_shutting_down());
            tg.create_task(async { Ok(()) }).unwrap_err()
        })
        .unwrap();
    assert_eq!(refused, CreateTaskError::Finished);
}

// asyncio's create_task RuntimeError("... is shutting down") (taskgroups.py): during the abort,
// create_task from a child's cleanup path is refused as ShuttingDown.
#[test]
fn create_task_while_aborting_is_shutting_down() {
    let lp = paused();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = seen.clone();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let tg2 = tg.clone();
            // A child whose drop (its cancellation) tries to add a task.
            struct OnDrop(Option<Box<dyn FnOnce() + Send>>);
            impl Drop for OnDrop {
                fn drop(&mut self) {
                    if let Some(f) = self.0.take() {
                        f();
                    }
                }
            }
            tg.create_task(async move {
                let _d = OnDrop(Some(Box::new(move || {
                    let e = tg2.create_task(async { Ok::<_, &str>(()) }).unwrap_err();
                    *s.lock().unwrap() = Some(e);
                })));
                sleep(secs(10)).await;
                Ok(())
            })
            .unwrap();
            tg.create_task(async {
                sleep(secs(1)).await;
                Err::<(), _>("boom")
            })
            .unwrap();
            Ok(())
        }))
        .unwrap();
    assert!(r.is_err());
    assert_eq!(*seen.lock().unwrap(), Some(CreateTaskError::ShuttingDown));
}

// asyncio's create_task RuntimeError("... is finished"): after the group completed normally.
#[test]
fn create_task_after_finish_is_refused() {
    let lp = paused();
    let refused = lp
        .run_until_complete(async {
            let mut kept = None;
            let r = TaskGroup::run(|tg| {
                kept = Some(tg);
                async { Ok::<_, ()>(()) }
            })
            .await;
            assert!(r.is_ok());
            kept.unwrap().create_task(async { Ok(()) }).unwrap_err()
        })
        .unwrap();
    assert_eq!(refused, CreateTaskError::Finished);
}

// test_taskgroup_11/12's outcome with a hard cancel (a race dropping the group mid-body, which
// cannot wait): the children are still cancelled and never resume.
#[test]
fn dropped_group_leaves_no_child_running() {
    let lp = paused();
    let (dropped, resumed) = (flag(), flag());
    let (d, r2) = (dropped.clone(), resumed.clone());
    lp.run_until_complete(async move {
        let group = TaskGroup::run(|tg| async move {
            tg.create_task(async move {
                let _flag = DropFlag(d);
                sleep(secs(5)).await;
                r2.store(true, Ordering::SeqCst);
                Ok::<_, ()>(())
            })
            .unwrap();
            sleep(secs(100)).await;
            Ok(())
        });
        let lost = tower_coro::race(async { group.await.is_ok() }, async {
            sleep(secs(1)).await;
            false
        })
        .await;
        assert!(!lost);
        sleep(secs(10)).await;
    })
    .unwrap();
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!resumed.load(Ordering::SeqCst));
}

// test_timeouts.py test_timeout_taskgroup (without its crash in cleanup): a timeout around a
// group stops it; its children are cancelled; TimeoutError.
#[test]
fn timeout_around_group_cancels_children() {
    let lp = paused();
    let (dropped, resumed) = (flag(), flag());
    let (d, r2) = (dropped.clone(), resumed.clone());
    let r = lp
        .run_until_complete(async move {
            let r = tower_task::timeout(
                Duration::from_millis(100),
                TaskGroup::run(|tg| async move {
                    tg.create_task(async move {
                        let _flag = DropFlag(d);
                        sleep(secs(2)).await;
                        r2.store(true, Ordering::SeqCst);
                        Ok::<_, ()>(())
                    })
                    .unwrap();
                    Ok(())
                }),
            )
            .await;
            sleep(secs(5)).await;
            r
        })
        .unwrap();
    assert_eq!(r.map(|_| ()), Err(tower_task::error::TimeoutError));
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!resumed.load(Ordering::SeqCst));
}

// taskgroups.py's `_parent_cancel_requested` + uncancel (test_taskgroup_04's `NUM += 10` is not
// reached only because the ExceptionGroup propagates): the abort does not leave the parent task
// cancelled; it goes on after the group with no cancellation pending.
#[test]
fn parent_goes_on_after_a_failed_group() {
    let lp = paused();
    let r = lp
        .run_until_complete(async {
            spawn(async {
                let r = TaskGroup::run(|tg| async move {
                    tg.create_task(async { Err::<(), _>("boom") }).unwrap();
                    sleep(secs(10)).await;
                    Ok(())
                })
                .await;
                assert!(r.is_err());
                let me = tower_task::current_task().unwrap();
                assert_eq!(me.cancelling(), 0);
                sleep(secs(1)).await; // the parent can still await
                "parent finished"
            })
            .await
        })
        .unwrap();
    assert_eq!(r.unwrap(), "parent finished");
}

// No CPython counterpart (asyncio's `__aexit__` always runs): a group dropped while its own
// cancellation request is outstanding (here by a race, while the body cleans up after the
// request) withdraws it, so the parent is not left counting a cancellation nobody made.
#[test]
fn a_dropped_group_withdraws_its_own_request() {
    let lp = paused();
    let (lost, left, goes_on) = lp
        .run_until_complete(async {
            spawn(async {
                let group = TaskGroup::run(|tg| async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<(), _>("boom")
                    })
                    .unwrap();
                    if tower_task::catch_cancel(sleep(secs(100))).await.is_err() {
                        sleep(secs(10)).await; // a long cleanup
                    }
                    Ok(())
                });
                let lost = tower_coro::race(async { group.await.is_ok() }, async {
                    sleep(secs(3)).await;
                    false
                })
                .await;
                let me = tower_task::current_task().unwrap();
                let goes_on = tower_task::catch_cancel(sleep(secs(1))).await.is_ok();
                (lost, me.cancelling(), goes_on)
            })
            .await
            .unwrap()
        })
        .unwrap();
    assert!(!lost);
    assert_eq!(left, 0);
    assert!(goes_on);
}
