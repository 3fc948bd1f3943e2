//! `run_coroutine_threadsafe`: a future submitted to a loop from another thread, waited for
//! with a blocking `ConcurrentFuture` (ports of CPython `test_tasks.py`'s
//! `RunCoroutineThreadsafeTests`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use tower_loop::EventLoop;
use tower_task::error::ThreadsafeError;
use tower_task::{all_tasks, catch_cancel, reraise, run_coroutine_threadsafe, sleep};

/// Runs `lp` until the thread `f` runs on finishes, and returns what it returned.
fn with_submitter<T: Send + 'static>(
    lp: &EventLoop,
    f: impl FnOnce(tower_loop::LoopHandle) -> T + Send + 'static,
) -> T {
    let handle = lp.handle();
    let submitter = thread::spawn(move || f(handle));
    lp.run_until_complete(async {
        while !submitter.is_finished() {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .unwrap();
    submitter.join().unwrap()
}

// test_run_coroutine_threadsafe: the value comes back to the submitting thread.
#[test]
fn the_value_reaches_the_submitting_thread() {
    let lp = EventLoop::new().unwrap();
    let v = with_submitter(&lp, |h| {
        let fut = run_coroutine_threadsafe(
            async {
                sleep(Duration::from_millis(1)).await;
                "done"
            },
            &h,
        );
        let v = fut.result(None);
        (v.unwrap(), fut.done(), fut.result(None).is_err())
    });
    assert_eq!(v, ("done", true, true));
}

// test_run_coroutine_threadsafe_with_exception: a panic is reported, not lost.
#[test]
fn a_panic_reaches_the_submitting_thread() {
    let lp = EventLoop::new().unwrap();
    let r = with_submitter(&lp, |h| {
        let fut = run_coroutine_threadsafe(async { panic!("on the loop") }, &h);
        match fut.result(None) {
            Err(ThreadsafeError::Panicked(p)) => p.message().to_owned(),
            other => format!("unexpected: {other:?}"),
        }
    });
    assert_eq!(r, "on the loop");
}

// test_run_coroutine_threadsafe_with_timeout: a timeout on the thread side, then cancel:
// the task on the loop is cancelled too and no task is left pending.
#[test]
fn a_timeout_then_cancel_cancels_the_task_on_the_loop() {
    let lp = EventLoop::new().unwrap();
    let cleaned = Arc::new(AtomicBool::new(false));
    let c = cleaned.clone();
    let r = with_submitter(&lp, move |h| {
        let fut = run_coroutine_threadsafe(
            async move {
                if let Err(cancelled) = catch_cancel(sleep(Duration::from_secs(3600))).await {
                    c.store(true, Ordering::SeqCst);
                    reraise::<()>(cancelled).await;
                }
            },
            &h,
        );
        let timed_out = matches!(
            fut.result(Some(Duration::from_millis(20))),
            Err(ThreadsafeError::Timeout)
        );
        assert!(fut.cancel());
        assert!(!fut.cancel());
        let after = matches!(fut.result(None), Err(ThreadsafeError::Cancelled(_)));
        (timed_out, after, fut.cancelled())
    });
    assert_eq!(r, (true, true, true));
    // The loop runs the task's cleanup.
    lp.run_until_complete(sleep(Duration::from_millis(5)))
        .unwrap();
    assert!(cleaned.load(Ordering::SeqCst));
    assert!(
        lp.run_until_complete(async { all_tasks().iter().all(|t| t.done()) })
            .unwrap()
    );
}

// test_run_coroutine_threadsafe_task_cancelled: cancelled on the loop's side.
#[test]
fn a_task_cancelled_on_the_loop_reports_cancelled() {
    let lp = EventLoop::new().unwrap();
    let r = with_submitter(&lp, |h| {
        let fut = run_coroutine_threadsafe(
            async {
                tower_task::current_task().unwrap().cancel_with("inside");
                sleep(Duration::from_secs(1)).await;
            },
            &h,
        );
        match fut.result(None) {
            Err(ThreadsafeError::Cancelled(c)) => c.message().map(str::to_owned),
            other => Some(format!("unexpected: {other:?}")),
        }
    });
    assert_eq!(r.as_deref(), Some("inside"));
}

// Done callbacks run once the outcome is set; a callback added after runs at once.
#[test]
fn done_callbacks_run_when_the_outcome_is_set() {
    let lp = EventLoop::new().unwrap();
    let r = with_submitter(&lp, |h| {
        let fut = run_coroutine_threadsafe(async { 1u8 }, &h);
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        fut.add_done_callback(move |f| tx.send(f.done()).unwrap());
        let first = rx.recv().unwrap();
        fut.add_done_callback(move |f| tx2.send(f.done()).unwrap());
        let second = rx.try_recv().unwrap(); // ran at once
        (first, second)
    });
    assert_eq!(r, (true, true));
}

// A closed loop never runs the future: the ConcurrentFuture ends cancelled.
#[test]
fn a_closed_loop_cancels_the_submission() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    lp.close().unwrap();
    let fut = run_coroutine_threadsafe(async { 5 }, &handle);
    assert!(fut.cancelled());
    assert!(matches!(
        fut.result(Some(Duration::ZERO)),
        Err(ThreadsafeError::Cancelled(_))
    ));
}
