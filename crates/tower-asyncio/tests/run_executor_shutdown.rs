//! `tower_asyncio::run` shuts the default executor down before closing its loop, as
//! `asyncio.run` awaits `loop.shutdown_default_executor()` (test_runners). Alone in its binary:
//! the default pool is process-wide, so no other test may use it concurrently.

use std::time::Duration;

/// Threads of this process whose name starts with `prefix` (from /proc/self/task/*/comm).
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .filter(|name| name.starts_with(prefix))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn run_returns_main_and_joins_the_default_executor_threads() {
    let out = tower_asyncio::run(async {
        let mut calls = Vec::new();
        for i in 0..8u32 {
            calls.push(tower_asyncio::to_thread(move || {
                std::thread::sleep(Duration::from_millis(5));
                i
            }));
        }
        let mut sum = 0;
        for c in calls {
            sum += c.await.expect("the closure ran");
        }
        assert!(
            threads_named("tower-blocking") > 0,
            "the pool ran the calls"
        );
        sum
    })
    .expect("run");
    assert_eq!(out, (0..8).sum());
    // The pool was shut down before `run` returned: every worker has left its work loop (the
    // pool counts it out as its last act), so the OS threads are gone within moments. Bounded
    // wait for the kernel to reap them, not a synchronisation sleep.
    let mut left = threads_named("tower-blocking");
    for _ in 0..500 {
        if left == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        left = threads_named("tower-blocking");
    }
    assert_eq!(left, 0, "the default executor's threads outlived run()");
}
