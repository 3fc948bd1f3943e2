//! Loom models of `ConcurrentFuture` (run_coroutine_threadsafe's cell): the task's completion
//! racing `cancel` from another thread gives exactly one outcome, callbacks run exactly once,
//! and a thread blocked in `result` is always woken.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use tower_task::ConcurrentFuture;
use tower_task::error::ThreadsafeError;

// Completion on the loop's thread racing cancel() on another: one of them wins, the waiting
// thread sees that one, the done callback runs once.
#[test]
fn completion_racing_cancel_has_one_outcome() {
    loom::model(|| {
        let cf = ConcurrentFuture::<u32>::model_new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        cf.add_done_callback(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        let a = cf.clone();
        let completer = thread::spawn(move || a.model_complete(7));
        let b = cf.clone();
        let canceller = thread::spawn(move || b.cancel());
        let completed = completer.join().unwrap();
        let cancelled = canceller.join().unwrap();
        assert!(completed ^ cancelled, "exactly one outcome is set");
        match cf.result(None) {
            Ok(7) => assert!(completed),
            Err(ThreadsafeError::Cancelled(_)) => assert!(cancelled),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    });
}

// A thread blocked in result(None) is woken by the completion (no lost wake-up between its
// check and its wait).
#[test]
fn a_blocked_result_is_woken() {
    loom::model(|| {
        let cf = ConcurrentFuture::<u32>::model_new();
        let a = cf.clone();
        let completer = thread::spawn(move || {
            a.model_complete(3);
        });
        assert_eq!(cf.result(None).unwrap(), 3);
        completer.join().unwrap();
        assert!(matches!(cf.result(None), Err(ThreadsafeError::Taken)));
    });
}
