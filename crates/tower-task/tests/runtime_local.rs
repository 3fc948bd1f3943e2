//! `spawn_local`: `!Send` tasks stay on the loop (thread) that spawned them.
//! Ports test_asyncio's loop-affinity expectation: a task runs on the loop it was created on.

use std::cell::RefCell;
use std::rc::Rc;

use tower_task::runtime::error::ContextError;
use tower_task::runtime::{RuntimeBuilder, spawn_local};

#[test]
fn local_tasks_stay_on_their_worker() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let (home, ids) = rt
        .block_on(rt.spawn(async {
            // The !Send part runs as a local task of this worker's loop.
            spawn_local(async {
                let home = std::thread::current().id();
                let ids = Rc::new(RefCell::new(Vec::new()));
                let tasks: Vec<_> = (0..20)
                    .map(|_| {
                        let ids = ids.clone(); // Rc: not Send
                        spawn_local(async move {
                            for _ in 0..5 {
                                ids.borrow_mut().push(std::thread::current().id());
                                tower_coro::yield_now().await;
                            }
                        })
                        .unwrap()
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                let ids = ids.borrow().clone();
                (home, ids)
            })
            .unwrap()
            .await
            .unwrap()
        }))
        .unwrap()
        .unwrap();
    assert_eq!(ids.len(), 100);
    assert!(ids.iter().all(|&id| id == home));
}

#[test]
fn local_tasks_in_block_on_run_on_the_calling_thread() {
    let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    let me = std::thread::current().id();
    let ran_on = rt
        .block_on(async {
            spawn_local(async { std::thread::current().id() })
                .unwrap()
                .await
        })
        .unwrap()
        .unwrap();
    assert_eq!(ran_on, me);
}

#[test]
fn spawn_local_without_a_loop_is_an_error() {
    // asyncio: create_task without a running loop raises RuntimeError.
    let err = spawn_local(async {}).unwrap_err();
    assert_eq!(err, ContextError::NoRunningLoop);
}
