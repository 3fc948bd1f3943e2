//! Loom model of the pool's hand-off: submit, park (an idle worker waiting), wake, shutdown, and
//! the result cell between the worker and the awaiting future. Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p tower-exec --test loom_pool`.
//!
//! Under loom a condition-variable wait never times out, so idle exit is not modelled here
//! (`tests/pool_idle.rs` covers it); every model ends with `shutdown`, and loom reports a deadlock
//! if any worker could be left asleep with work queued or a shutdown not observed.
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

mod waker_probe;

use loom::thread;
use tower_coro::Parker;
use tower_exec::error::BlockingError;
use tower_exec::{ThreadPool, run_in_executor, run_in_executor_cancellable};
use waker_probe::Probe;

/// Drives `fut` to completion on a loom-checked parker.
fn block_on<F: Future>(fut: F) -> F::Output {
    let parker = Parker::new();
    let waker = Waker::from(parker.unparker());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        parker.park();
    }
}

/// A one-thread pool.
fn pool() -> ThreadPool {
    ThreadPool::builder().max_threads(1).build()
}

// Two jobs in sequence on one worker: the second submit meets the worker busy, going idle, or
// asleep (the notify path); the result always arrives and shutdown joins the worker.
#[test]
fn submit_wake_and_shutdown() {
    loom::model(|| {
        let pool = pool();
        assert_eq!(block_on(run_in_executor(&pool, || 1)).unwrap(), 1);
        assert_eq!(block_on(run_in_executor(&pool, || 2)).unwrap(), 2);
        pool.shutdown(Duration::MAX).unwrap();
        assert_eq!(pool.thread_count(), 0);
    });
}

// Two jobs queued back to back, awaited afterwards: the worker drains both, or the second is
// picked up after a notification.
#[test]
fn two_queued_jobs_both_run() {
    loom::model(|| {
        let pool = pool();
        let a = run_in_executor(&pool, || 'a');
        let b = run_in_executor(&pool, || 'b');
        assert_eq!(block_on(b).unwrap(), 'b');
        assert_eq!(block_on(a).unwrap(), 'a');
        pool.shutdown(Duration::MAX).unwrap();
    });
}

// Shutdown races a submit from another thread: the job either runs or is rejected, the awaiting
// future never hangs, and every worker exits.
#[test]
fn shutdown_races_submit() {
    loom::model(|| {
        let pool = pool();
        let p2 = pool.clone();
        let t = thread::spawn(move || block_on(run_in_executor(&p2, || 5)));
        pool.shutdown(Duration::MAX).unwrap();
        match t.join().unwrap() {
            Ok(v) => assert_eq!(v, 5),
            Err(e) => assert!(matches!(e, BlockingError::Shutdown)),
        }
        pool.shutdown(Duration::MAX).unwrap();
        assert_eq!(pool.thread_count(), 0);
    });
}

// The awaiting future is dropped while the worker completes: the result is dropped by whoever
// is last, the token reports the cancellation to the closure if it looks after the drop.
#[test]
fn abandon_races_completion() {
    loom::model(|| {
        let pool = pool();
        let fut = run_in_executor_cancellable(&pool, |token| {
            let _ = token.is_cancelled();
            String::from("result")
        });
        drop(fut);
        pool.shutdown(Duration::MAX).unwrap();
    });
}

// Two workers, two submitting threads: the idle/notified counters with more than one sleeper
// (a notification consumed by the "wrong" worker still gets every job run), then shutdown joins
// both workers.
#[test]
fn two_workers_two_submitters() {
    loom::model(|| {
        let pool = ThreadPool::builder().max_threads(2).build();
        let p2 = pool.clone();
        let t = thread::spawn(move || block_on(run_in_executor(&p2, || 1)).unwrap());
        let mine = block_on(run_in_executor(&pool, || 2)).unwrap();
        assert_eq!(t.join().unwrap() + mine, 3);
        pool.shutdown(Duration::MAX).unwrap();
        assert_eq!(pool.thread_count(), 0);
    });
}

// The awaiting waker stays with the awaiting side (handoff.rs): whatever the interleaving of
// the worker's completion with the polls, the worker only wakes it by reference; every clone
// is dropped by the awaiting thread, and none is left once the future is done.
#[test]
fn the_worker_never_keeps_the_awaiting_waker() {
    loom::model(|| {
        let pool = pool();
        let parker = Parker::new();
        let probe = Probe::new(Waker::from(parker.unparker()));
        let waker = Probe::waker(&probe);
        let mut cx = Context::from_waker(&waker);
        let mut fut = run_in_executor(&pool, || 3);
        let v = loop {
            if let Poll::Ready(v) = std::pin::Pin::new(&mut fut).poll(&mut cx) {
                break v;
            }
            parker.park();
        };
        assert_eq!(v.unwrap(), 3);
        drop(fut);
        drop(waker);
        pool.shutdown(Duration::MAX).unwrap();
        assert!(probe.kept_elsewhere().is_empty(), "{:?}", probe.events());
        assert_eq!(Arc::strong_count(&probe), 1, "{:?}", probe.events());
    });
}
