//! `as_completed`: ports of CPython's `test_tasks.py` `test_as_completed*` scenarios. Virtual
//! time only.

use std::cell::Cell;
use std::rc::Rc;

use tower_coro::stream;
use tower_loop::Timer;
use tower_task::as_completed;
use tower_task::error::TimeoutError;

mod common;
use common::{paused, secs};

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

// test_as_completed: results come in completion order, not input order.
#[test]
fn yields_in_completion_order() {
    let lp = paused();
    let got = lp
        .run_until_complete(async {
            let futs = [(0, 3u64), (1, 1), (2, 2), (3, 5), (4, 4)].map(|(i, s)| async move {
                Timer::after(secs(s)).await;
                i
            });
            stream::collect(as_completed(futs)).await
        })
        .unwrap();
    assert_eq!(got, [1, 2, 0, 4, 3]);
}

// test_as_completed_with_timeout: what finished before the deadline is yielded, then one
// TimeoutError, then the end.
#[test]
fn timeout_yields_error_after_finished_items() {
    let lp = paused();
    let got = lp
        .run_until_complete(async {
            let futs = [1u64, 10, 2].map(|s| async move {
                Timer::after(secs(s)).await;
                s
            });
            stream::collect(as_completed(futs).with_timeout(secs(5))).await
        })
        .unwrap();
    assert_eq!(got, [Ok(1), Ok(2), Err(TimeoutError)]);
}

// test_as_completed_with_timeout: the futures still running at the deadline are dropped (a plain
// future cannot run on without the stream that polls it; tasks are only detached, see below).
#[test]
fn timeout_drops_the_rest() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let slow = async move {
        let _flag = flag;
        Timer::after(secs(100)).await;
        0u64
    };
    let mut s = as_completed([Box::pin(slow) as std::pin::Pin<Box<dyn Future<Output = u64>>>])
        .with_timeout(secs(1));
    let first = lp.run_until_complete(stream::next(&mut s)).unwrap();
    assert_eq!(first, Some(Err(TimeoutError)));
    assert!(dropped.get());
    assert!(s.expired());
}

// test_as_completed_with_unused_timeout: all finish before the deadline; the stream ends normally
// and leaves no timer behind once dropped.
#[test]
fn unused_timeout_ends_normally() {
    let lp = paused();
    let got = lp
        .run_until_complete(async {
            let futs = [2u64, 1].map(|s| async move {
                Timer::after(secs(s)).await;
                s
            });
            stream::collect(as_completed(futs).with_timeout(secs(100))).await
        })
        .unwrap();
    assert_eq!(got, [Ok(1), Ok(2)]);
    assert_eq!(lp.pending_timers(), 0);
}

// test_as_completed_reverse_wait / test_as_completed_concurrent: two ready in the same iteration
// are both yielded, none lost.
#[test]
fn simultaneous_completions_are_all_yielded() {
    let lp = paused();
    let mut got = lp
        .run_until_complete(async {
            let futs = [1u64, 1, 1].map(|s| async move {
                Timer::after(secs(s)).await;
                s
            });
            stream::collect(as_completed(futs)).await
        })
        .unwrap();
    got.sort();
    assert_eq!(got, [1, 1, 1]);
}

// No CPython test of its own: an empty input ends the stream at once.
#[test]
fn empty_input_ends_at_once() {
    let got: Vec<u8> = tower_coro::block_on(stream::collect(as_completed(Vec::<
        std::future::Ready<u8>,
    >::new())));
    assert!(got.is_empty());
}

// No CPython counterpart (Rust's own cancellation, dropping a future): dropping the stream drops
// the futures not yet complete.
#[test]
fn dropping_the_stream_drops_the_rest() {
    let lp = paused();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    lp.run_until_complete(async move {
        let fast: std::pin::Pin<Box<dyn Future<Output = u64>>> = Box::pin(async { 1 });
        let slow: std::pin::Pin<Box<dyn Future<Output = u64>>> = Box::pin(async move {
            let _flag = flag;
            Timer::after(secs(100)).await;
            2
        });
        let mut s = as_completed([fast, slow]);
        assert_eq!(stream::next(&mut s).await, Some(1));
        assert_eq!(s.len(), 1);
    })
    .unwrap();
    assert!(dropped.get());
}

// test_as_completed_with_timeout (tasks): spawned tasks given to as_completed are only
// detached when the deadline drops them; they run on, as asyncio's tasks do.
#[test]
fn timeout_detaches_tasks_which_run_on() {
    let lp = paused();
    let finished = Rc::new(Cell::new(false));
    let f = finished.clone();
    lp.run_until_complete(async move {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = done.clone();
        let slow = tower_task::spawn(async move {
            tower_task::sleep(secs(10)).await;
            d.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let got = stream::collect(as_completed([slow]).with_timeout(secs(1))).await;
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
        tower_task::sleep(secs(20)).await;
        f.set(done.load(std::sync::atomic::Ordering::SeqCst));
    })
    .unwrap();
    assert!(finished.get());
}
