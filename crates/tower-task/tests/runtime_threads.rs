//! No thread leak: every worker thread is joined when the runtime is dropped. One test in this
//! binary, so no other test's threads come and go while it counts.
//! Ports test_asyncio's test_runners: the loop and its resources are closed at exit.

use tower_task::runtime::RuntimeBuilder;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// The thread count once the kernel has released the joined threads: `join` returns when a
/// thread's exit clears its tid, a moment before its /proc entry goes (bounded, not a sleep
/// for synchronisation: the threads are already joined).
fn threads_settled(want: usize) -> usize {
    for _ in 0..500 {
        let n = threads();
        if n == want {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    threads()
}

#[test]
fn dropping_the_runtime_joins_every_worker() {
    let before = threads();
    for _ in 0..3 {
        let rt = RuntimeBuilder::new().worker_threads(4).build().unwrap();
        assert_eq!(threads(), before + 4);
        rt.block_on(rt.spawn(async { tower_coro::yield_now().await }))
            .unwrap()
            .unwrap();
        drop(rt);
        assert_eq!(threads_settled(before), before);
    }
}
