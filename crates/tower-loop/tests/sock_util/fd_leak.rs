//! The fd-leak check every test that opens fds uses (the fd and thread counts of
//! `event_loop_fd_leak.rs`, taken around each test). One file for the workspace's tests,
//! included by tower-loop's `tests/sock_util` and by the other crates' tests with `#[path]`
//! (its sibling `child_leak.rs` is the child/zombie check): no test-support crate, no public
//! API, no dev-dependency cycle.
#![allow(dead_code)] // each test binary uses a part

use std::sync::Mutex;

/// Open fds of this process.
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Threads of this process.
pub(crate) fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Serialises the fd-counting tests of one test binary (`cargo test` runs them on threads of
/// one process; nextest runs each in its own process, where this costs nothing).
static FD_TESTS: Mutex<()> = Mutex::new(());

/// Runs `f` and asserts that it left no fd open that it did not find open: every socket, loop
/// and registration it made is closed when it returns.
pub(crate) fn no_fd_leak<R>(f: impl FnOnce() -> R) -> R {
    no_fd_leak_after(|| {}, f)
}

/// [`no_fd_leak`], with `warm_up` run first under the same lock: it makes the fds a process
/// keeps for its whole life (a runtime's global reactor...), which are not the test's leaks.
pub(crate) fn no_fd_leak_after<R>(warm_up: impl FnOnce(), f: impl FnOnce() -> R) -> R {
    let _serial = FD_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    warm_up();
    let before = fd_count();
    let r = f();
    assert_eq!(
        settled_fd_count(before),
        before,
        "the test leaked a file descriptor: {:?}",
        fd_targets()
    );
    r
}

/// The fd count once it is back to `before`, or after 2 s: a blocking-pool thread that
/// delivered a result (a name resolution, say) may still be dropping its waker, the last
/// handle to a closed loop's epoll and eventfd, when the test returns. A real leak stays.
fn settled_fd_count(before: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let now = fd_count();
        if now == before || std::time::Instant::now() >= deadline {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
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
