//! The awaiting future's waker belongs to the awaiting side: the pool thread wakes it by
//! reference and never keeps, clones or drops it. A tower task's waker holds its loop's handle
//! (the last handle closes the loop's epoll and eventfd), so a pool thread that dropped it
//! could close a loop's fds after `close()` returned and the loop was dropped
//! (docs/decisions/0004-blocking-pool-and-child-reaping.md).

use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use tower_exec::{ThreadPool, run_in_executor};

/// What a [`probe`] waker saw: each clone, wake and drop, with the thread it happened on.
#[derive(Default)]
struct Log {
    /// `(event, thread)` in order.
    events: Mutex<Vec<(&'static str, ThreadId)>>,
    /// Sent to on every wake (either kind).
    woken: Mutex<Option<mpsc::Sender<()>>>,
}

impl Log {
    fn record(&self, event: &'static str) {
        self.events
            .lock()
            .unwrap()
            .push((event, thread::current().id()));
        if event.starts_with("wake") {
            if let Some(tx) = &*self.woken.lock().unwrap() {
                let _ = tx.send(());
            }
        }
    }
}

/// A waker whose every clone, wake and drop is recorded in `log`.
fn probe(log: &Arc<Log>) -> Waker {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, release);
    fn log_of(data: *const ()) -> &'static Log {
        // SAFETY: `data` is an `Arc<Log>` pointer of a live waker (each waker owns one count).
        unsafe { &*data.cast::<Log>() }
    }
    fn clone(data: *const ()) -> RawWaker {
        log_of(data).record("clone");
        // SAFETY: `data` came from `Arc::into_raw` and this waker still owns its count.
        unsafe { Arc::increment_strong_count(data.cast::<Log>()) };
        RawWaker::new(data, &VTABLE)
    }
    fn wake(data: *const ()) {
        log_of(data).record("wake (consumes)");
        // SAFETY: this waker's count, given back once.
        unsafe { Arc::decrement_strong_count(data.cast::<Log>()) };
    }
    fn wake_by_ref(data: *const ()) {
        log_of(data).record("wake_by_ref");
    }
    fn release(data: *const ()) {
        log_of(data).record("drop");
        // SAFETY: this waker's count, given back once.
        unsafe { Arc::decrement_strong_count(data.cast::<Log>()) };
    }
    let data = Arc::into_raw(log.clone()).cast::<()>();
    // SAFETY: the vtable's functions keep the `Arc` count balanced (one per waker).
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

// The result reaches the awaiting future through a wake-up on the pool thread, and every
// clone of its waker the call made is dropped by the awaiting side: none is consumed or
// dropped on the pool thread, so nothing the waker keeps alive outlives the await there.
#[test]
fn the_pool_thread_never_keeps_the_awaiting_waker() {
    let pool = ThreadPool::new();
    let me = thread::current().id();
    let log = Arc::new(Log::default());
    let (woken_tx, woken_rx) = mpsc::channel();
    *log.woken.lock().unwrap() = Some(woken_tx);
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let mut fut = run_in_executor(&pool, move || {
        go_rx.recv().unwrap();
        7
    });
    let waker = probe(&log);
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
    go_tx.send(()).unwrap();
    woken_rx.recv().unwrap();
    assert!(matches!(
        Pin::new(&mut fut).poll(&mut cx),
        Poll::Ready(Ok(7))
    ));
    drop(fut);
    drop(waker);
    pool.shutdown(Duration::from_secs(10)).unwrap();

    let events = log.events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|(e, t)| e.starts_with("wake") && *t != me),
        "woken from the pool: {events:?}"
    );
    let off_thread: Vec<_> = events
        .iter()
        .filter(|(e, t)| *e != "wake_by_ref" && *t != me)
        .collect();
    assert!(
        off_thread.is_empty(),
        "the pool thread kept a clone of the waker: {off_thread:?}"
    );
    assert_eq!(Arc::strong_count(&log), 1, "a waker clone is still alive");
}

// The same when the awaiting future is dropped before the result arrives: the waker it left
// is dropped with it, on its thread, and the pool thread never touches it.
#[test]
fn an_abandoned_call_leaves_no_waker_to_the_pool() {
    let pool = ThreadPool::new();
    let me = thread::current().id();
    let log = Arc::new(Log::default());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let mut fut = run_in_executor(&pool, move || {
        go_rx.recv().unwrap();
        done_tx.send(()).unwrap();
        7
    });
    let waker = probe(&log);
    assert!(
        Pin::new(&mut fut)
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(fut);
    drop(waker);
    assert_eq!(Arc::strong_count(&log), 1, "a waker clone is still alive");
    go_tx.send(()).unwrap();
    done_rx.recv().unwrap();
    pool.shutdown(Duration::from_secs(10)).unwrap();
    let events = log.events.lock().unwrap().clone();
    assert!(events.iter().all(|(_, t)| *t == me), "{events:?}");
}
