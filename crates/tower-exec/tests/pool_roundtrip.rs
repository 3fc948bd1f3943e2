//! Results, panics and rejections travel back from the pool to the awaiting future.

use std::time::Duration;

use tower_exec::error::BlockingError;
use tower_exec::{Executor, Job, ThreadPool, run_in_executor, to_thread};
use tower_loop::EventLoop;

// Ports test_threads.py `test_to_thread`: the closure's value comes back.
#[test]
fn to_thread_returns_the_value() {
    let lp = EventLoop::new().unwrap();
    let v = lp
        .run_until_complete(async { to_thread(|| vec![1, 2, 3]).await })
        .unwrap();
    assert_eq!(v.unwrap(), [1, 2, 3]);
}

// Ports test_threads.py `test_to_thread_exception`: an exception in the function is raised by
// the awaiting coroutine — here, a panic comes back as `BlockingError::Panicked`.
#[test]
fn a_panic_comes_back_as_an_error() {
    let lp = EventLoop::new().unwrap();
    let err = lp
        .run_until_complete(async { to_thread(|| -> u32 { panic!("bad input") }).await })
        .unwrap()
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("bad input"));
    let payload = err.into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"bad input"));
}

// Ports test_threads.py `test_to_thread_once`/`test_to_thread_concurrent`: many calls at once,
// all results in order.
#[test]
fn many_concurrent_calls_all_complete() {
    let lp = EventLoop::new().unwrap();
    let futs: Vec<_> = (0..200u64).map(|i| to_thread(move || i * 2)).collect();
    let out = lp
        .run_until_complete(tower_coro::try_join_all(futs))
        .unwrap()
        .unwrap();
    assert_eq!(out, (0..200u64).map(|i| i * 2).collect::<Vec<_>>());
}

// Ports test_base_events.py `test_run_in_executor` with a user executor: the closure runs on it.
#[test]
fn run_in_executor_uses_the_given_executor() {
    #[derive(Debug)]
    struct Named;
    impl Executor for Named {
        fn execute(&self, job: Job) {
            std::thread::Builder::new()
                .name("custom-exec".into())
                .spawn(move || job.run())
                .unwrap();
        }
    }
    let name = tower_coro::block_on(run_in_executor(&Named, || {
        std::thread::current().name().map(str::to_owned)
    }))
    .unwrap();
    assert_eq!(name.as_deref(), Some("custom-exec"));
}

// An executor that drops the job without running it: the future resolves to `Dropped`, never
// hangs.
#[test]
fn a_dropped_job_resolves_to_dropped() {
    #[derive(Debug)]
    struct BlackHole;
    impl Executor for BlackHole {
        fn execute(&self, job: Job) {
            drop(job);
        }
    }
    let err = tower_coro::block_on(run_in_executor(&BlackHole, || 1)).unwrap_err();
    assert!(matches!(err, BlockingError::Dropped));
}

// Ports test_base_events.py `test_run_in_executor_after_shutdown` (asyncio raises
// RuntimeError "Executor shutdown has been called"): a job submitted after shutdown is rejected.
#[test]
fn submitting_after_shutdown_is_rejected() {
    let pool = ThreadPool::new();
    pool.shutdown(Duration::from_secs(10)).unwrap();
    let err = tower_coro::block_on(run_in_executor(&pool, || 1)).unwrap_err();
    assert!(matches!(err, BlockingError::Shutdown));
}

// Threads are named `tower-blocking-N`.
#[test]
fn default_threads_are_named() {
    let pool = ThreadPool::new();
    let name = tower_coro::block_on(run_in_executor(&pool, || {
        std::thread::current().name().map(str::to_owned)
    }))
    .unwrap()
    .unwrap();
    assert!(name.starts_with("tower-blocking-"), "{name}");
    pool.shutdown(Duration::from_secs(10)).unwrap();
}
