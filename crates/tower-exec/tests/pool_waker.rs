//! The awaiting future's waker belongs to the awaiting side: the pool thread wakes it by
//! reference and never keeps, clones or drops it. A tower task's waker holds its loop's handle
//! (the last handle closes the loop's epoll and eventfd), so a pool thread that dropped it
//! could close a loop's fds after `close()` returned and the loop was dropped
//! (docs/decisions/0004-blocking-pool-and-child-reaping.md).

mod waker_probe;

use std::pin::Pin;
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tower_coro::Parker;
use tower_exec::{ThreadPool, run_in_executor};
use waker_probe::Probe;

// The result reaches the awaiting future through a wake-up on the pool thread, and every
// clone of its waker the call made is dropped by the awaiting side: none is consumed or
// dropped on the pool thread, so nothing the waker keeps alive outlives the await there.
#[test]
fn the_pool_thread_never_keeps_the_awaiting_waker() {
    let pool = ThreadPool::new();
    let parker = Parker::new();
    let probe = Probe::new(Waker::from(parker.unparker()));
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let mut fut = run_in_executor(&pool, move || {
        go_rx.recv().unwrap();
        7
    });
    let waker = Probe::waker(&probe);
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
    go_tx.send(()).unwrap();
    let v = loop {
        parker.park();
        if let Poll::Ready(v) = Pin::new(&mut fut).poll(&mut cx) {
            break v;
        }
    };
    assert_eq!(v.unwrap(), 7);
    drop(fut);
    drop(waker);
    pool.shutdown(Duration::from_secs(10)).unwrap();

    assert!(probe.woken_elsewhere(), "{:?}", probe.events());
    assert!(
        probe.kept_elsewhere().is_empty(),
        "the pool thread kept a clone of the waker: {:?}",
        probe.kept_elsewhere()
    );
    assert_eq!(Arc::strong_count(&probe), 1, "a waker clone is still alive");
}

// The same when the awaiting future is dropped before the result arrives: the waker it left
// is dropped with it, on its thread, and the pool thread never touches it.
#[test]
fn an_abandoned_call_leaves_no_waker_to_the_pool() {
    let pool = ThreadPool::new();
    let probe = Probe::new(Waker::noop().clone());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let mut fut = run_in_executor(&pool, move || {
        go_rx.recv().unwrap();
        done_tx.send(()).unwrap();
        7
    });
    let waker = Probe::waker(&probe);
    assert!(
        Pin::new(&mut fut)
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(fut);
    drop(waker);
    assert_eq!(Arc::strong_count(&probe), 1, "a waker clone is still alive");
    go_tx.send(()).unwrap();
    done_rx.recv().unwrap();
    pool.shutdown(Duration::from_secs(10)).unwrap();
    let events = probe.events();
    assert!(
        events.iter().all(|(e, _)| !e.starts_with("wake")),
        "{events:?}"
    );
    assert!(probe.kept_elsewhere().is_empty(), "{events:?}");
}
