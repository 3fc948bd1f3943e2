//! Threads of the pool exit when idle: the process's thread count falls back.
//!
//! One test in this file, so no other test's threads change the count.

use std::time::Duration;

use tower_exec::{ThreadPool, run_in_executor};

/// Threads of this process whose name (`comm`, truncated to 15 bytes) starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.starts_with(prefix))
        .count()
}

/// The workspace's child check and its bounded wait, one file with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/child_leak.rs"]
mod child_leak;
use child_leak::wait_until;

// asyncio's ThreadPoolExecutor keeps its threads; tower's pool lets idle ones go (as the
// `blocking` crate does) — the "threads of the pool exit when idle".
#[test]
fn idle_threads_exit_and_the_count_falls_back() {
    let before = threads_named("idle-test");
    assert_eq!(before, 0);
    let pool = ThreadPool::builder()
        .max_threads(4)
        .idle_timeout(Duration::from_millis(50))
        .thread_name("idle-test")
        .build();
    // Four closures that wait for each other, so four threads must exist at once.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let futs: Vec<_> = (0..4)
        .map(|_| {
            let b = barrier.clone();
            run_in_executor(&pool, move || {
                b.wait();
            })
        })
        .collect();
    tower_coro::block_on(tower_coro::try_join_all(futs)).unwrap();
    assert!(threads_named("idle-test") >= 1);
    assert!(
        wait_until(|| threads_named("idle-test") == 0),
        "idle threads did not exit"
    );
    assert_eq!(pool.thread_count(), 0);
    // The pool still works after its threads left: it starts a new one.
    assert_eq!(
        tower_coro::block_on(run_in_executor(&pool, || 5)).unwrap(),
        5
    );
}
