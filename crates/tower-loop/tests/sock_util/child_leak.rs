//! The child-process check of the workspace's tests that start processes (tower-exec's,
//! tower-transport's and tower-protocol's subprocess tests, the servers' tests that run
//! children): our children and zombies, from `/proc`. One file beside `fd_leak.rs`, included
//! with `#[path]` (no test-support crate).
#![allow(dead_code)] // each test binary uses a part

use std::time::{Duration, Instant};

/// Our children (running, or zombies not yet waited for) whose state letter passes `which`
/// (from `/proc/*/stat`: the state, then the parent's pid, after the command's `)`).
pub(crate) fn children(which: impl Fn(&str) -> bool) -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            let mut f = stat[close + 2..].split(' ');
            let state = f.next();
            let ppid = f.next();
            state.is_some_and(&which) && ppid == Some(me.as_str())
        })
        .count()
}

/// Our zombies: children that exited and were not waited for.
pub(crate) fn zombies() -> usize {
    children(|state| state == "Z")
}

/// Polls until `cond` holds or 30 s pass (a child is reaped by another thread, or exits after
/// its pipes closed); returns whether it held. Not a timing assertion: the bound only keeps a
/// broken reaper from hanging the test.
pub(crate) fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// Asserts that no child of ours is left, running or zombie (waiting for the reaper as
/// [`wait_until`] does).
pub(crate) fn assert_no_child() {
    assert!(
        wait_until(|| children(|_| true) == 0),
        "a child process is left ({} zombies)",
        zombies()
    );
}
