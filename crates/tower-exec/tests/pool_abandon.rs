//! Dropping the awaiting future abandons the result; a cancellable closure sees its token flip.

use std::sync::mpsc;
use std::time::Duration;

use tower_exec::{ThreadPool, run_in_executor, run_in_executor_cancellable};

// Ports test_base_events.py `test_run_in_executor_cancel`: cancelling the awaiting future does
// not interrupt a closure already running (a thread cannot be killed); it runs to the end.
#[test]
fn dropping_the_future_lets_the_closure_run_on() {
    let pool = ThreadPool::new();
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let fut = run_in_executor(&pool, move || {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        done_tx.send("finished").unwrap();
        String::from("dropped with nobody to see it")
    });
    started_rx.recv().unwrap();
    drop(fut);
    go_tx.send(()).unwrap();
    assert_eq!(done_rx.recv().unwrap(), "finished");
    pool.shutdown(Duration::from_secs(10)).unwrap();
}

// The closure's token flips when the awaiting future is dropped (tokio's spawn_blocking cannot
// do this; asyncio's to_thread neither — it is tower's answer to cancelling `to_thread`).
#[test]
fn dropping_the_future_cancels_the_token() {
    let pool = ThreadPool::new();
    let (started_tx, started_rx) = mpsc::channel();
    let (seen_tx, seen_rx) = mpsc::channel();
    let fut = run_in_executor_cancellable(&pool, move |token| {
        assert!(!token.is_cancelled());
        started_tx.send(()).unwrap();
        while !token.is_cancelled() {
            std::thread::yield_now();
        }
        seen_tx.send(token.check()).unwrap();
    });
    started_rx.recv().unwrap();
    drop(fut);
    assert_eq!(seen_rx.recv().unwrap(), Err(tower_exec::error::Cancelled));
    pool.shutdown(Duration::from_secs(10)).unwrap();
}

// A token whose future is awaited to the end never reports cancelled.
#[test]
fn an_awaited_token_is_never_cancelled() {
    let pool = ThreadPool::new();
    let r = tower_coro::block_on(run_in_executor_cancellable(&pool, |token| {
        token.is_cancelled()
    }));
    assert!(!r.unwrap());
    pool.shutdown(Duration::from_secs(10)).unwrap();
}
