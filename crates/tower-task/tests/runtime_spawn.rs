//! Spawning on the multi-threaded runtime and awaiting the results.
//! Ports test_asyncio's test_tasks scenarios: `create_task` and awaiting a task's result, tasks
//! creating tasks.

use tower_task::runtime::{Builder, Handle};

#[test]
fn spawn_one_from_block_on() {
    // test_tasks: test_create_task — a task's result is what awaiting it gives.
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let out = rt.block_on(rt.spawn(async { 1 })).unwrap();
    assert_eq!(out.unwrap(), 1);
}

#[test]
fn spawn_many_and_await_all() {
    // test_tasks: test_gather-style fan-out of many tasks.
    let rt = Builder::new().worker_threads(2).build().unwrap();
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
            let h = Handle::current().unwrap();
            let kids: Vec<_> = (0..8).map(|_| h.spawn(tree(depth - 1))).collect();
            let mut n = 1;
            for k in kids {
                n += k.await.unwrap();
            }
            n
        })
    }
    let rt = Builder::new().worker_threads(2).build().unwrap();
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
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let handle = rt.handle().clone();
    let h = std::thread::spawn(move || handle.spawn(async { "hi" }))
        .join()
        .unwrap();
    assert_eq!(rt.block_on(h).unwrap().unwrap(), "hi");
}

#[test]
fn dropping_a_join_handle_detaches_the_task() {
    // Architecture rule 5: dropping the handle does not cancel the task.
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    drop(rt.spawn(async move {
        tower_coro::yield_now().await;
        tx.send(7).unwrap();
    }));
    assert_eq!(rx.recv().unwrap(), 7);
}

#[test]
fn zero_workers_is_an_error() {
    let err = Builder::new().worker_threads(0).build().unwrap_err();
    assert!(matches!(
        err,
        tower_task::runtime::error::BuildError::ZeroWorkers
    ));
}
