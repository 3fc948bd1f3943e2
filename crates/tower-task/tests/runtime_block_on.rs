//! `Runtime::block_on`: run a future on the calling thread with the runtime entered.
//! Ports test_asyncio's test_runners: run() from a plain thread; nesting is an error.

use tower_task::runtime::error::BlockOnError;
use tower_task::runtime::{RuntimeBuilder, RuntimeHandle};

#[test]
fn block_on_from_a_non_worker_thread() {
    let rt = RuntimeBuilder::new().worker_threads(2).build().unwrap();
    let handle = rt.handle().clone();
    let out = std::thread::spawn(move || {
        handle.block_on(async {
            let h = RuntimeHandle::current().unwrap();
            let a = h.spawn(async { 20 });
            let b = h.spawn(async { 22 });
            a.await.unwrap() + b.await.unwrap()
        })
    })
    .join()
    .unwrap();
    assert_eq!(out.unwrap(), 42);
}

#[test]
fn block_on_accepts_non_send_futures() {
    let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    let rc = std::rc::Rc::new(5);
    let out = rt
        .block_on(async move {
            tower_coro::yield_now().await;
            *rc
        })
        .unwrap();
    assert_eq!(out, 5);
}

#[test]
fn block_on_inside_a_worker_is_an_error() {
    // asyncio: run_until_complete on a running loop raises RuntimeError.
    let rt = RuntimeBuilder::new().worker_threads(1).build().unwrap();
    let handle = rt.handle().clone();
    let inner = rt
        .block_on(rt.spawn(async move {
            matches!(handle.block_on(async {}), Err(BlockOnError::LoopRunning))
        }))
        .unwrap()
        .unwrap();
    assert!(inner);
}

#[test]
fn handle_current_outside_a_runtime_is_an_error() {
    assert!(RuntimeHandle::current().is_err());
}
