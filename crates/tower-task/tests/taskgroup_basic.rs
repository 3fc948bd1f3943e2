//! `TaskGroup`: the happy paths, ports of CPython's `test_asyncio/test_taskgroups.py`.
//! Virtual time only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tower_task::{TaskGroup, sleep};

mod common;
use common::{paused, secs};

// test_taskgroup_01: children's results are available through their handles.
#[test]
fn children_results_through_handles() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let t1 = tg
                .create_task(async {
                    sleep(secs(1)).await;
                    Ok(42)
                })
                .unwrap();
            let t2 = tg
                .create_task(async {
                    sleep(secs(2)).await;
                    Ok(11)
                })
                .unwrap();
            Ok::<_, ()>((t1, t2))
        }))
        .unwrap();
    let (mut t1, mut t2) = r.unwrap();
    // The group waited for both: they are done and hold their values.
    assert_eq!(t1.result().unwrap().unwrap(), 42);
    assert_eq!(t2.result().unwrap().unwrap(), 11);
}

// test_taskgroup_01/02: the group waits for children still running when the body returns.
#[test]
fn waits_for_children_after_the_body() {
    let lp = paused();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            tg.create_task(async move {
                sleep(secs(5)).await;
                f.store(true, Ordering::SeqCst);
                Ok::<_, ()>(())
            })
            .unwrap();
            Ok("body done")
        }))
        .unwrap();
    assert_eq!(r, Ok("body done"));
    assert!(finished.load(Ordering::SeqCst));
}

// test_taskgroup_03: a child cancelled explicitly is not a failure; the others go on.
#[test]
fn cancelled_child_is_not_a_failure() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let t1 = tg
                .create_task(async {
                    sleep(secs(1)).await;
                    Ok(42)
                })
                .unwrap();
            let t2 = tg
                .create_task(async {
                    sleep(secs(1)).await;
                    Ok(11)
                })
                .unwrap();
            t1.cancel();
            Ok::<_, ()>((t1, t2))
        }))
        .unwrap();
    let (t1, mut t2) = r.unwrap();
    assert!(t1.cancelled());
    assert_eq!(t2.result().unwrap().unwrap(), 11);
}

// No CPython test of its own: a group with no task returns its body's value.
#[test]
fn empty_group_returns_body_value() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|_tg| async { Ok::<_, ()>(7) }))
        .unwrap();
    assert_eq!(r, Ok(7));
}

// test_taskgroup_24: a child may add siblings (through the group) while the group joins.
#[test]
fn children_may_add_siblings_while_joining() {
    let lp = paused();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let tg2 = tg.clone();
            tg.create_task(async move {
                sleep(secs(1)).await;
                let c2 = c.clone();
                tg2.create_task(async move {
                    sleep(secs(1)).await;
                    c2.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
                .expect("joining groups accept tasks");
                c.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(())
            })
            .unwrap();
            Ok(())
        }))
        .unwrap();
    assert_eq!(r, Ok(()));
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

// No CPython counterpart (an `async with` block cannot be re-entered): polling a group's future
// again after it completed is a misuse, as for any completed future.
#[test]
#[should_panic(expected = "`TaskGroupRun` polled after completion")]
fn polling_after_completion_panics() {
    let lp = paused();
    lp.run_until_complete(async {
        let mut g = Box::pin(TaskGroup::run(|tg| async move {
            tg.create_task(async { Ok::<_, ()>(()) }).unwrap();
            Ok(1)
        }));
        assert_eq!(g.as_mut().await, Ok(1));
        let _ = g.as_mut().await;
    })
    .unwrap();
}
