//! Inside the runtime, plain `tower_task::spawn` (and what is built on it: `gather`,
//! `TaskGroup`, `shield`) goes to the work-stealing queues, so the work spreads over the
//! workers; `tower_task::spawn_local` stays on the spawning worker's loop.
//! (No test_asyncio counterpart: asyncio has one loop per thread; this is the runtime's
//! "many cores: many loops" behaviour for asyncio-style code.)

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use tower_task::runtime::RuntimeBuilder;
use tower_task::{TaskGroup, gather, spawn, spawn_local};

/// A task body that records its thread and blocks its worker until tasks have run on two
/// distinct threads: a set of these only finishes if some are stolen by the other worker.
async fn two_threads(s: Arc<Mutex<HashSet<ThreadId>>>) {
    s.lock().unwrap().insert(std::thread::current().id());
    while s.lock().unwrap().len() < 2 {
        std::hint::spin_loop();
    }
}

#[test]
fn plain_spawn_inside_a_task_is_stolen() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let seen: Arc<Mutex<HashSet<ThreadId>>> = Arc::default();
    let s = seen.clone();
    rt.block_on(rt.spawn(async move {
        // More tasks than one loop iteration takes, so some stay in the stealable queue.
        let tasks: Vec<_> = (0..200).map(|_| spawn(two_threads(s.clone()))).collect();
        for t in tasks {
            t.await.unwrap();
        }
    }))
    .unwrap()
    .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    let m = rt.metrics();
    assert!(m.steals() >= 1, "{m:?}");
    assert!(m.workers.iter().all(|w| w.polls > 0), "{m:?}");
}

#[test]
fn gather_inside_block_on_runs_on_both_workers() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let seen: Arc<Mutex<HashSet<ThreadId>>> = Arc::default();
    let out = rt
        .block_on(gather((0..50).map(|_| two_threads(seen.clone()))))
        .unwrap()
        .unwrap();
    assert_eq!(out.len(), 50);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    // Both were workers: block_on's own thread ran none of them.
    assert!(!seen.contains(&std::thread::current().id()));
}

#[test]
fn taskgroup_children_in_a_task_are_balanced() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let seen: Arc<Mutex<HashSet<ThreadId>>> = Arc::default();
    let s = seen.clone();
    let r = rt
        .block_on(rt.spawn(TaskGroup::run(move |tg| async move {
            for _ in 0..100 {
                let body = two_threads(s.clone());
                tg.create_task(async move {
                    body.await;
                    Ok::<_, ()>(())
                })
                .unwrap();
            }
            Ok(())
        })))
        .unwrap()
        .unwrap();
    assert!(r.is_ok());
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(rt.metrics().steals() >= 1);
}

#[test]
fn spawn_local_inside_a_task_stays_on_its_worker() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (home, ran) = rt
        .block_on(rt.spawn(async {
            let home = std::thread::current().id();
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    spawn_local(async {
                        tower_coro::yield_now().await;
                        std::thread::current().id()
                    })
                })
                .collect();
            let mut ran = Vec::new();
            for t in tasks {
                ran.push(t.await.unwrap());
            }
            (home, ran)
        }))
        .unwrap()
        .unwrap();
    assert!(ran.iter().all(|&id| id == home));
}
