//! `TaskGroup`: children's cleanup during the abort is awaited, and what it raises is not
//! lost — an `Err` or a panic after catching the cancellation, or a panic while the child's
//! future is dropped. Ports of CPython's `test_asyncio/test_taskgroups.py`. Virtual time only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tower_task::error::Failure;
use tower_task::{TaskGroup, catch_cancel, reraise, sleep, spawn};

mod common;
use common::{flag, paused, secs};

/// Counts live child futures: one more while it exists.
#[derive(Debug)]
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(count: &Arc<AtomicUsize>) -> Live {
        count.fetch_add(1, Ordering::SeqCst);
        Live(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Panics when dropped (a destructor that fails during the cancellation).
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("cleanup in drop failed");
    }
}

// test_taskgroup_04's foo2 with a cleanup that takes time (asyncio's `except CancelledError:
// await ...`): the group waits for the sibling's cleanup, and the error it returns afterwards
// is collected with the first failure.
#[test]
fn sibling_cleanup_is_awaited_and_its_error_collected() {
    let lp = paused();
    let live = Arc::new(AtomicUsize::new(0));
    let cleanup_done = flag();
    let (l, c) = (live.clone(), cleanup_done.clone());
    let (r, live_after, done_after) = lp
        .run_until_complete(async move {
            let (l2, c2) = (l.clone(), c.clone());
            let r = spawn(TaskGroup::run(|tg| async move {
                tg.create_task(async {
                    sleep(secs(1)).await;
                    Err::<(), _>("boom")
                })
                .unwrap();
                tg.create_task(async move {
                    let _live = Live::new(&l2);
                    match catch_cancel(sleep(secs(100))).await {
                        Ok(()) => Ok(()),
                        Err(_) => {
                            sleep(secs(5)).await; // slow cleanup
                            c2.store(true, Ordering::SeqCst);
                            Err("cleanup failed")
                        }
                    }
                })
                .unwrap();
                sleep(secs(100)).await;
                Ok(())
            }))
            .await
            .unwrap();
            // Read at once: the group has returned.
            (r, l.load(Ordering::SeqCst), c.load(Ordering::SeqCst))
        })
        .unwrap();
    assert_eq!(
        r.unwrap_err().errors,
        [Failure::Child("boom"), Failure::Child("cleanup failed")]
    );
    assert_eq!(live_after, 0, "no child is alive after the group");
    assert!(done_after, "the group waited for the cleanup");
}

// The same with a cleanup that succeeds: the sibling returns a value after catching its
// cancellation; that is not a failure, and its handle has the value.
#[test]
fn sibling_cleanup_that_returns_a_value_is_not_a_failure() {
    let lp = paused();
    let out = lp
        .run_until_complete(async {
            let mut sibling = None;
            let r = TaskGroup::run(|tg| {
                sibling = Some(
                    tg.create_task(async {
                        match catch_cancel(sleep(secs(100))).await {
                            Ok(()) => Ok("slept"),
                            Err(_) => {
                                sleep(secs(2)).await;
                                Ok("cleaned up")
                            }
                        }
                    })
                    .unwrap(),
                );
                async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<&str, _>("boom")
                    })
                    .unwrap();
                    Ok(())
                }
            })
            .await;
            let mut sibling = sibling.unwrap();
            (r, sibling.result())
        })
        .unwrap();
    let (r, sibling) = out;
    assert_eq!(r.unwrap_err().errors, [Failure::Child("boom")]);
    // The group waited for it: done, with its value.
    assert_eq!(sibling.unwrap().unwrap(), "cleaned up");
}

// test_taskgroup_21a's shape (an error raised during the cancellation, here a panic in the
// cleanup after catching it): the panic is in the group's error after the first failure; the
// child's own handle reports it, and its done callbacks run.
#[test]
fn a_cleanup_panic_is_collected_and_done_callbacks_run() {
    let lp = paused();
    let called = Arc::new(AtomicBool::new(false));
    let cb = called.clone();
    let (r, child) = lp
        .run_until_complete(async move {
            let mut handle = None;
            let r = spawn(TaskGroup::run(|tg| {
                let t = tg
                    .create_task(async {
                        if catch_cancel(sleep(secs(100))).await.is_err() {
                            sleep(secs(1)).await;
                            panic!("cleanup failed");
                        }
                        Ok(())
                    })
                    .unwrap();
                t.add_done_callback(move |_| cb.store(true, Ordering::SeqCst));
                handle = Some(t);
                async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<(), _>("boom")
                    })
                    .unwrap();
                    Ok(())
                }
            }))
            .await
            .unwrap();
            let child = handle.unwrap().await;
            sleep(secs(1)).await; // the done callbacks are scheduled with call_soon
            (r, child)
        })
        .unwrap();
    assert_eq!(
        r.unwrap_err().errors,
        [
            Failure::Child("boom"),
            Failure::Panic("cleanup failed".to_owned())
        ]
    );
    assert!(child.unwrap_err().is_panic());
    assert!(called.load(Ordering::SeqCst), "done callbacks ran");
}

// A destructor that panics while a cancelled child's future is dropped (the child had
// nothing aware to catch the cancellation with): the panic is in the group's error, the
// child ends panicked and its done callbacks run.
#[test]
fn a_panicking_drop_during_the_abort_is_collected() {
    let lp = paused();
    let called = Arc::new(AtomicBool::new(false));
    let cb = called.clone();
    let (r, child) = lp
        .run_until_complete(async move {
            let mut handle = None;
            let r = TaskGroup::run(|tg| {
                let t = tg
                    .create_task(async {
                        let _bomb = PanicOnDrop;
                        sleep(secs(100)).await;
                        Ok(())
                    })
                    .unwrap();
                t.add_done_callback(move |_| cb.store(true, Ordering::SeqCst));
                handle = Some(t);
                async move {
                    tg.create_task(async {
                        sleep(secs(1)).await;
                        Err::<(), _>("boom")
                    })
                    .unwrap();
                    Ok(())
                }
            })
            .await;
            let child = handle.unwrap().await;
            sleep(secs(1)).await;
            (r, child)
        })
        .unwrap();
    assert_eq!(
        r.unwrap_err().errors,
        [
            Failure::Child("boom"),
            Failure::Panic("cleanup in drop failed".to_owned())
        ]
    );
    assert!(child.unwrap_err().is_panic());
    assert!(called.load(Ordering::SeqCst), "done callbacks ran");
}

// test_cancellation (NUM == 5 when the awaiter sees the cancellation): every child's
// cleanup has run when the group re-raises the parent's cancellation; none is left alive.
#[test]
fn children_are_awaited_before_the_parent_s_cancellation_goes_on() {
    let lp = paused();
    let live = Arc::new(AtomicUsize::new(0));
    let cleaned = Arc::new(AtomicUsize::new(0));
    let (l, c) = (live.clone(), cleaned.clone());
    let (out, live_after, cleaned_after) = lp
        .run_until_complete(async move {
            let (l2, c2) = (l.clone(), c.clone());
            let r = spawn(TaskGroup::run(move |tg| async move {
                for i in 0..5u64 {
                    let (l3, c3) = (l2.clone(), c2.clone());
                    tg.create_task(async move {
                        let _live = Live::new(&l3);
                        if let Err(cancelled) = catch_cancel(sleep(secs(5))).await {
                            sleep(secs(i)).await; // cleanups of different lengths
                            c3.fetch_add(1, Ordering::SeqCst);
                            return reraise(cancelled).await;
                        }
                        Ok::<_, ()>(())
                    })
                    .unwrap();
                }
                Ok(())
            }));
            sleep(secs(1)).await;
            r.cancel_with("test");
            let out = r.await;
            (out, l.load(Ordering::SeqCst), c.load(Ordering::SeqCst))
        })
        .unwrap();
    match out {
        Err(tower_task::error::TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("test")),
        other => panic!("{other:?}"),
    }
    assert_eq!(cleaned_after, 5);
    assert_eq!(live_after, 0);
}
