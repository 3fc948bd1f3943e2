//! Spawning on the multi-threaded runtime and awaiting the results.
//! Ports test_asyncio's test_tasks scenarios: `create_task` and awaiting a task's result, tasks
//! creating tasks.

use tower_task::runtime::{RuntimeBuilder, RuntimeHandle};

#[test]
fn spawn_one_from_block_on() {
    // test_tasks: test_create_task — a task's result is what awaiting it gives.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let out = rt.block_on(rt.spawn(async { 1 })).unwrap();
    assert_eq!(out.unwrap(), 1);
}

#[test]
fn spawn_many_and_await_all() {
    // test_tasks: test_gather-style fan-out of many tasks.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let handles: Vec<_> = (0..10_000u64)
        .map(|i| {
            rt.spawn(async move {
                tower_coro::yield_now().await;
                i
            })
        })
        .collect();
    let sum = rt
        .block_on(async {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        })
        .unwrap();
    assert_eq!(sum, (0..10_000u64).sum::<u64>());
    assert_eq!(rt.metrics().spawned(), 10_000);
}

#[test]
fn nested_spawn_from_workers() {
    // test_tasks: a task that creates tasks (tree of depth 3, fan-out 8).
    fn tree(depth: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>> {
        Box::pin(async move {
            if depth == 0 {
                return 1;
            }
            let h = RuntimeHandle::current().unwrap();
            let kids: Vec<_> = (0..8).map(|_| h.spawn(tree(depth - 1))).collect();
            let mut n = 1;
            for k in kids {
                n += k.await.unwrap();
            }
            n
        })
    }
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let n = rt.block_on(rt.spawn(tree(3))).unwrap().unwrap();
    assert_eq!(n, 1 + 8 + 64 + 512);
    let m = rt.metrics();
    // Every task but the root was spawned from a worker: local pushes, not the injector.
    assert_eq!(m.spawned_remote, 1);
    assert_eq!(m.spawned(), 1 + 8 + 64 + 512);
}

#[test]
fn spawn_from_a_foreign_thread_through_a_handle() {
    // call_soon_threadsafe's counterpart for tasks: spawn from a plain thread.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let handle = rt.handle().clone();
    let h = std::thread::spawn(move || handle.spawn(async { "hi" }))
        .join()
        .unwrap();
    assert_eq!(rt.block_on(h).unwrap().unwrap(), "hi");
}

#[test]
fn dropping_a_join_handle_detaches_the_task() {
    // Architecture rule 5: dropping the handle does not cancel the task.
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    drop(rt.spawn(async move {
        tower_coro::yield_now().await;
        tx.send(7).unwrap();
    }));
    assert_eq!(rx.recv().unwrap(), 7);
}

#[test]
fn zero_workers_is_an_error() {
    let err = RuntimeBuilder::new().worker_threads(0).build().unwrap_err();
    assert!(matches!(
        err,
        tower_task::runtime::error::BuildError::ZeroWorkers
    ));
}

// test_eager_task_factory.py: test_eager_task_factory_set, on a runtime worker's loop: a task
// factory set on the worker's loop applies to the spawns made on it, and removing it stops that.
#[test]
fn a_task_factory_on_a_worker_loop_applies_to_its_spawns() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let rt = tower_task::runtime::RuntimeBuilder::new()
        .worker_threads(2)
        .build()
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let out = rt
        .block_on(rt.spawn(async move {
            let (tasks, eager_done, counts) = {
                let lp = tower_loop::get_running_loop().unwrap();
                let before = tower_task::spawn(async {});
                let c0 = s.load(Ordering::SeqCst);
                let s2 = s.clone();
                let factory =
                    tower_task::LoopTaskOptions::eager_task_factory().on_spawn(move |_| {
                        s2.fetch_add(1, Ordering::SeqCst);
                    });
                tower_task::set_task_factory(&lp, Some(factory));
                // Eager: it ran to completion inside `spawn`.
                let eager = tower_task::spawn(async {});
                let eager_done = eager.done();
                let c1 = s.load(Ordering::SeqCst);
                tower_task::set_task_factory(&lp, None);
                let after = tower_task::spawn(async {});
                let c2 = s.load(Ordering::SeqCst);
                ([before, eager, after], eager_done, (c0, c1, c2))
            };
            for t in tasks {
                t.await.unwrap();
            }
            (eager_done, counts)
        }))
        .unwrap()
        .unwrap();
    assert_eq!(out, (true, (0, 1, 1)));
}
