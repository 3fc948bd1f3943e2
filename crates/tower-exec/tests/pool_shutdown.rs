//! Shutting a pool down: queued work finishes, the wait is bounded by the timeout.

use std::sync::mpsc;
use std::time::Duration;

use tower_exec::error::ShutdownTimeout;
use tower_exec::{
    ThreadPool, run_in_executor, set_default_executor, shutdown_default_executor, to_thread,
};
use tower_loop::EventLoop;

// Ports test_base_events.py `test_shutdown_default_executor_timeout`: a thread still busy when
// the timeout passes is reported (asyncio warns), and shutdown returns.
#[test]
fn shutdown_times_out_while_a_closure_is_busy() {
    let pool = ThreadPool::new();
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let fut = run_in_executor(&pool, move || {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        7
    });
    started_rx.recv().unwrap();
    let err = pool.shutdown(Duration::from_millis(1)).unwrap_err();
    assert_eq!(
        err,
        ShutdownTimeout {
            timeout: Duration::from_millis(1),
            threads_left: 1
        }
    );
    // The busy closure still finishes and delivers its value; then the thread exits.
    go_tx.send(()).unwrap();
    assert_eq!(tower_coro::block_on(fut).unwrap(), 7);
    pool.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(pool.thread_count(), 0);
}

// Ports `concurrent.futures` shutdown(wait=True, cancel_futures=False): jobs queued before the
// shutdown still run.
#[test]
fn queued_jobs_run_before_shutdown_completes() {
    let pool = ThreadPool::builder().max_threads(1).build();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let first = run_in_executor(&pool, move || go_rx.recv().unwrap());
    let queued: Vec<_> = (0..3).map(|i| run_in_executor(&pool, move || i)).collect();
    let shutter = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.shutdown(Duration::from_secs(30)))
    };
    go_tx.send(()).unwrap();
    shutter.join().unwrap().unwrap();
    tower_coro::block_on(first).unwrap();
    let out = tower_coro::block_on(tower_coro::try_join_all(queued)).unwrap();
    assert_eq!(out, [0, 1, 2]);
}

// Ports test_base_events.py `test_shutdown_default_executor`: awaiting it on the loop joins the
// default executor's threads; later calls start a fresh pool.
#[test]
fn shutdown_default_executor_on_the_loop() {
    let pool = ThreadPool::builder().thread_name("default-test").build();
    let _ = set_default_executor(pool.clone());
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        to_thread(|| ()).await.unwrap();
        shutdown_default_executor(Duration::from_secs(30))
            .await
            .unwrap();
    })
    .unwrap();
    assert!(pool.is_shutdown());
    assert_eq!(pool.thread_count(), 0);
    // A fresh default serves the next call.
    let v = lp.run_until_complete(to_thread(|| 3)).unwrap().unwrap();
    assert_eq!(v, 3);
    lp.close().unwrap();
}
