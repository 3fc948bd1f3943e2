//! What the stream tests share: the fd-leak check, and running a test's body on a fresh loop.
#![allow(dead_code)] // each test binary uses a part

use std::future::Future;
use std::sync::Mutex;

/// Open fds of this process.
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// What each open fd is (for the leak message).
fn fd_targets() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Serialises the fd-counting tests of one binary under `cargo test` (threads of one process).
static FD_TESTS: Mutex<()> = Mutex::new(());

/// Runs `f` and asserts it left no fd open that it did not find open.
pub(crate) fn no_fd_leak<R>(f: impl FnOnce() -> R) -> R {
    let _serial = FD_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let before = fd_count();
    let r = f();
    assert_eq!(
        fd_count(),
        before,
        "the test leaked a file descriptor: {:?}",
        fd_targets()
    );
    r
}

/// Runs `main` on a fresh loop (closed after), checking fds around it.
pub(crate) fn run<F: Future>(main: F) -> F::Output {
    no_fd_leak(|| tower_task::run(main).unwrap())
}

/// Yields to the loop `n` times (lets callbacks and other tasks run).
pub(crate) async fn turns(n: usize) {
    for _ in 0..n {
        tower_coro::yield_now().await;
    }
}
