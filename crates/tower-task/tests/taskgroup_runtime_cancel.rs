//! `TaskGroup` cancellation on the multi-threaded runtime: the parent task on one worker, its
//! children on others, so every step of the abort races. Each scenario runs 200 rounds; after
//! the group returns, no child's future is alive and every child's task is done. Ports of
//! CPython's `test_asyncio/test_taskgroups.py` scenarios (named on each test). No sleeps: the
//! children wait for cancellation or for a flag.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tower_coro::{pending, yield_now};
use tower_task::error::{Failure, TaskError, TaskGroupError};
use tower_task::runtime::{Runtime, RuntimeBuilder};
use tower_task::{ChildTask, TaskGroup, TaskRef, catch_cancel, current_task, reraise};

/// Rounds per scenario.
const ROUNDS: usize = 200;
/// Siblings per group.
const SIBLINGS: usize = 3;

/// A runtime with two workers.
fn runtime() -> Runtime {
    RuntimeBuilder::new().worker_threads(2).build().unwrap()
}

/// What a round watches: live child futures and the children's tasks.
#[derive(Clone, Default)]
struct Probe {
    /// Child futures alive now.
    live: Arc<AtomicUsize>,
    /// Children that have started.
    started: Arc<AtomicUsize>,
    /// Children whose cleanup finished.
    cleaned: Arc<AtomicUsize>,
    /// The children's tasks.
    tasks: Arc<Mutex<Vec<TaskRef>>>,
}

/// One live child future (dropped with it).
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Probe {
    /// Marks a child future alive (until the returned guard drops) and started.
    fn enter(&self) -> Live {
        self.live.fetch_add(1, Ordering::SeqCst);
        self.started.fetch_add(1, Ordering::SeqCst);
        Live(self.live.clone())
    }

    /// Keeps a child's task to check it is done when the group returns.
    fn keep<T>(&self, t: ChildTask<T>) {
        self.tasks.lock().unwrap().push(t.task_ref().clone());
    }

    /// No child future alive, every child task done.
    fn assert_all_ended(&self) {
        assert_eq!(
            self.live.load(Ordering::SeqCst),
            0,
            "a child is still alive"
        );
        assert!(
            self.tasks.lock().unwrap().iter().all(TaskRef::done),
            "a child's task is not done"
        );
    }

    /// Waits (yielding) until `n` children have started.
    async fn started(&self, n: usize) {
        while self.started.load(Ordering::SeqCst) < n {
            yield_now().await;
        }
    }
}

/// A child that waits until it is cancelled, then runs a cleanup of a few steps and fails
/// with `"cleanup"` (or, with `reraise_it`, lets the cancellation go on).
async fn waiting_child(probe: Probe, reraise_it: bool) -> Result<(), &'static str> {
    let _live = probe.enter();
    match catch_cancel(pending::<()>()).await {
        Ok(()) => Ok(()),
        Err(cancelled) => {
            for _ in 0..3 {
                yield_now().await;
            }
            probe.cleaned.fetch_add(1, Ordering::SeqCst);
            if reraise_it {
                reraise(cancelled).await
            } else {
                Err("cleanup")
            }
        }
    }
}

/// Checks, when dropped, that every child has ended, and says it did.
struct Check(Probe, Arc<AtomicBool>);

impl Drop for Check {
    fn drop(&mut self) {
        self.0.assert_all_ended();
        self.1.store(true, Ordering::SeqCst);
    }
}

/// Waits (yielding) until `flag` is set.
async fn until(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        yield_now().await;
    }
}

/// The errors sorted (children on other threads fail in any order).
fn sorted(e: TaskGroupError<&'static str>) -> Vec<Failure<&'static str>> {
    let mut errors = e.errors;
    errors.sort_by_key(|f| format!("{f:?}"));
    errors
}

// test_cancel_children_on_child_error on workers: a child fails while its siblings wait on
// other workers; they catch the cancellation, clean up and fail; the body catches the group's
// cancellation, cleans up and re-raises. Every error is collected, nothing is left running,
// and the parent is not left cancelled.
#[test]
fn child_failure_with_cleanups_on_workers() {
    let rt = runtime();
    for _ in 0..ROUNDS {
        let probe = Probe::default();
        let p = probe.clone();
        let (r, left) = rt
            .block_on(rt.spawn(async move {
                let p2 = p.clone();
                let r = TaskGroup::run(|tg| async move {
                    for _ in 0..SIBLINGS {
                        p2.keep(tg.create_task(waiting_child(p2.clone(), false)).unwrap());
                    }
                    let p3 = p2.clone();
                    let failing = tg.create_task(async move {
                        let _live = p3.enter();
                        p3.started(SIBLINGS + 1).await;
                        Err::<(), _>("boom")
                    });
                    p2.keep(failing.unwrap());
                    if let Err(cancelled) = catch_cancel(pending::<()>()).await {
                        assert_eq!(current_task().unwrap().cancelling(), 1);
                        yield_now().await;
                        return reraise(cancelled).await;
                    }
                    Ok(())
                })
                .await;
                p.assert_all_ended();
                (r, current_task().unwrap().cancelling())
            }))
            .unwrap()
            .unwrap();
        let mut want = vec![Failure::Child("boom")];
        want.extend((0..SIBLINGS).map(|_| Failure::Child("cleanup")));
        want.sort_by_key(|f| format!("{f:?}"));
        assert_eq!(sorted(r.unwrap_err()), want);
        assert_eq!(left, 0);
        assert_eq!(probe.cleaned.load(Ordering::SeqCst), SIBLINGS);
    }
}

// test_cancellation / test_taskgroup_07 on workers: the parent is cancelled from another
// thread while the body runs; the children (on any worker) catch it, clean up and re-raise;
// the parent ends cancelled with the message after all of them.
#[test]
fn outside_cancel_during_the_body_on_workers() {
    let rt = runtime();
    for _ in 0..ROUNDS {
        let probe = Probe::default();
        let p = probe.clone();
        let ended_clean = Arc::new(AtomicBool::new(false));
        let e = ended_clean.clone();
        let parent = rt.spawn(async move {
            // The group raises the cancellation on, so nothing after it runs; this guard,
            // dropped with the parent's future, checks the children at that moment.
            let _check = Check(p.clone(), e);
            TaskGroup::run(|tg| async move {
                for _ in 0..SIBLINGS {
                    p.keep(tg.create_task(waiting_child(p.clone(), true)).unwrap());
                }
                pending::<Result<(), &str>>().await
            })
            .await
        });
        let r = rt
            .block_on(async {
                probe.started(SIBLINGS).await;
                parent.cancel_with("stop");
                parent.await
            })
            .unwrap();
        match r {
            Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("stop")),
            other => panic!("{other:?}"),
        }
        assert!(ended_clean.load(Ordering::SeqCst));
        assert_eq!(probe.cleaned.load(Ordering::SeqCst), SIBLINGS);
        probe.assert_all_ended();
    }
}

// test_taskgroup_22 on workers: the body has returned and the group joins when the parent is
// cancelled from another thread: the children are cancelled and awaited, then the parent ends
// cancelled.
#[test]
fn outside_cancel_while_joining_on_workers() {
    let rt = runtime();
    for _ in 0..ROUNDS {
        let probe = Probe::default();
        let p = probe.clone();
        let body_done = Arc::new(AtomicBool::new(false));
        let b = body_done.clone();
        let parent = rt.spawn(async move {
            TaskGroup::run(|tg| async move {
                for _ in 0..SIBLINGS {
                    p.keep(tg.create_task(waiting_child(p.clone(), true)).unwrap());
                }
                b.store(true, Ordering::SeqCst);
                Ok::<_, &str>(())
            })
            .await
        });
        let r = rt
            .block_on(async {
                until(&body_done).await;
                probe.started(SIBLINGS).await;
                parent.cancel_with("stop");
                parent.await
            })
            .unwrap();
        match r {
            Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("stop")),
            other => panic!("{other:?}"),
        }
        assert_eq!(probe.cleaned.load(Ordering::SeqCst), SIBLINGS);
        probe.assert_all_ended();
    }
}

// test_error_and_cancel on workers: the parent is cancelled from another thread while a child
// is about to fail (the failure and the cancellation race); errors win whatever the order:
// the group returns the failures, the outside request is left (`cancelling()` is 1) and
// delivered at the parent's next await.
#[test]
fn outside_cancel_racing_a_failure_on_workers() {
    let rt = runtime();
    for _ in 0..ROUNDS {
        let probe = Probe::default();
        let p = probe.clone();
        let go = Arc::new(AtomicBool::new(false));
        let g = go.clone();
        let observed = Arc::new(Mutex::new(None));
        let o = observed.clone();
        let parent = rt.spawn(async move {
            let p2 = p.clone();
            let r = TaskGroup::run(|tg| async move {
                for _ in 0..SIBLINGS {
                    p2.keep(tg.create_task(waiting_child(p2.clone(), true)).unwrap());
                }
                let p3 = p2.clone();
                let failing = tg.create_task(async move {
                    let _live = p3.enter();
                    // Fails when told to, or when cancelled: it fails either way.
                    let _ = catch_cancel(until(&g)).await;
                    Err::<(), _>("boom")
                });
                p2.keep(failing.unwrap());
                pending::<Result<(), &str>>().await
            })
            .await;
            p.assert_all_ended();
            let count = current_task().unwrap().cancelling();
            let next_await_cancelled = catch_cancel(yield_now()).await.is_err();
            *o.lock().unwrap() = Some((r, count, next_await_cancelled));
        });
        let r = rt
            .block_on(async {
                probe.started(SIBLINGS + 1).await;
                parent.cancel_with("stop");
                go.store(true, Ordering::SeqCst);
                parent.await
            })
            .unwrap();
        assert!(r.is_ok(), "{r:?}");
        let (r, count, next_await_cancelled) = observed.lock().unwrap().take().unwrap();
        assert_eq!(r.unwrap_err().errors, [Failure::Child("boom")]);
        assert_eq!(count, 1);
        assert!(next_await_cancelled);
        probe.assert_all_ended();
    }
}

/// The errors of the nested scenario.
#[derive(Debug, PartialEq)]
enum Nested {
    Boom,
    Group(TaskGroupError<Nested>),
}

// test_taskgroup_14 on workers: an inner group's child fails while the outer group's children
// wait on other workers; the inner group's error is the outer body's failure, the outer
// children are cancelled and awaited.
#[test]
fn nested_groups_on_workers() {
    let rt = runtime();
    for _ in 0..ROUNDS {
        let probe = Probe::default();
        let p = probe.clone();
        let (r, left) = rt
            .block_on(rt.spawn(async move {
                let p2 = p.clone();
                let r = TaskGroup::run(|outer| async move {
                    for _ in 0..SIBLINGS {
                        let p3 = p2.clone();
                        let t = outer.create_task(async move {
                            let _live = p3.enter();
                            pending::<Result<(), Nested>>().await
                        });
                        p2.keep(t.unwrap());
                    }
                    let p3 = p2.clone();
                    TaskGroup::run(|inner| async move {
                        let p4 = p3.clone();
                        let t = inner.create_task(async move {
                            let _live = p4.enter();
                            p4.started(SIBLINGS + 1).await;
                            Err::<(), _>(Nested::Boom)
                        });
                        p3.keep(t.unwrap());
                        pending::<Result<(), Nested>>().await
                    })
                    .await
                    .map_err(Nested::Group)
                })
                .await;
                p.assert_all_ended();
                (r, current_task().unwrap().cancelling())
            }))
            .unwrap()
            .unwrap();
        let inner = TaskGroupError {
            errors: vec![Failure::Child(Nested::Boom)],
        };
        assert_eq!(r.unwrap_err().errors, [Failure::Body(Nested::Group(inner))]);
        assert_eq!(left, 0);
    }
}

// The group given straight to `block_on` (no parent task) on workers: the group delivers
// its own request into the body, which cleans up and re-raises; the children's cleanups are
// awaited and collected.
#[test]
fn group_without_a_parent_task_on_workers() {
    let rt = runtime();
    for _ in 0..ROUNDS {
        let probe = Probe::default();
        let p = probe.clone();
        let r = rt
            .block_on(TaskGroup::run(|tg| async move {
                for _ in 0..SIBLINGS {
                    p.keep(tg.create_task(waiting_child(p.clone(), false)).unwrap());
                }
                let p2 = p.clone();
                let failing = tg.create_task(async move {
                    let _live = p2.enter();
                    p2.started(SIBLINGS + 1).await;
                    Err::<(), _>("boom")
                });
                p.keep(failing.unwrap());
                if let Err(cancelled) = catch_cancel(pending::<()>()).await {
                    yield_now().await;
                    return reraise(cancelled).await;
                }
                Ok(())
            }))
            .unwrap();
        probe.assert_all_ended();
        let mut want = vec![Failure::Child("boom")];
        want.extend((0..SIBLINGS).map(|_| Failure::Child("cleanup")));
        want.sort_by_key(|f| format!("{f:?}"));
        assert_eq!(sorted(r.unwrap_err()), want);
    }
}
