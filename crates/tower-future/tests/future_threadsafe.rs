//! Completion from another thread through the loop's `call_soon_threadsafe`.

use std::sync::{Arc, Mutex};

use tower_future::error::FutureError;
use tower_future::wrap_future;
use tower_loop::EventLoop;

// test_futures.py: test_wrap_future (a concurrent future completed on a thread pool)
#[test]
fn a_result_computed_on_a_std_thread_completes_the_future_on_the_loop() {
    let lp = EventLoop::new().unwrap();
    let loop_thread = std::thread::current().id();
    let cb_thread = Arc::new(Mutex::new(None));
    let c = cb_thread.clone();
    let v = lp
        .run_until_complete(async move {
            let (fut, completer) = wrap_future::<u64>().unwrap();
            fut.add_done_callback(move |_| *c.lock().unwrap() = Some(std::thread::current().id()));
            let worker = std::thread::spawn(move || completer.set_result(6 * 7));
            let v = fut.await.unwrap();
            worker.join().unwrap();
            tower_coro::yield_now().await;
            v
        })
        .unwrap();
    assert_eq!(v, 42);
    assert_eq!(
        *cb_thread.lock().unwrap(),
        Some(loop_thread),
        "callbacks run on the loop thread"
    );
}

// test_futures.py: test_wrap_future_cancel (the other side goes away)
#[test]
fn a_dropped_completer_cancels_the_future() {
    let lp = EventLoop::new().unwrap();
    let r = lp
        .run_until_complete(async {
            let (fut, completer) = wrap_future::<u64>().unwrap();
            std::thread::spawn(move || drop(completer)).join().unwrap();
            fut.await
        })
        .unwrap();
    assert!(
        matches!(r, Err(FutureError::Cancelled(c)) if c.message() == Some("the completer was dropped"))
    );
}

// test_futures.py: test_wrap_future_exception
#[test]
fn an_error_from_a_std_thread_reaches_the_awaiter() {
    let lp = EventLoop::new().unwrap();
    let r = lp
        .run_until_complete(async {
            let (fut, completer) = wrap_future::<u64>().unwrap();
            std::thread::spawn(move || {
                completer.set_exception(std::io::Error::other("thread failed"))
            });
            fut.await
        })
        .unwrap();
    assert!(matches!(r, Err(FutureError::Exception(e)) if e.to_string() == "thread failed"));
}
