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
        fd_count(),
        before,
        "the test leaked a file descriptor: {:?}",
        fd_targets()
    );
    r
}

// No settling wait: the count is taken as soon as the test returns. (Until issue 16's review
// it waited up to 2 s for a blocking-pool thread that had delivered a result — a name
// resolution — to drop its waker, the last handle to a closed loop's epoll and eventfd; the
// pool thread no longer keeps the waker, tower-exec's handoff.rs and
// docs/decisions/0004-blocking-pool-and-child-reaping.md.)

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
