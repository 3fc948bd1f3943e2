//! What the subprocess tests of tower-transport and tower-protocol share (one file, included
//! with `#[path]`: no test-support crate): the lock that serialises them and the clean-run
//! check (no fd, no child left). The including test has the workspace's `fd_count`
//! (`tower-loop/tests/sock_util/fd_leak.rs`) at its root: tower-transport's `util` loads that
//! file already, and a file is loaded once per test binary.
#![allow(dead_code, unused_imports)] // each test binary uses a part

use std::sync::Mutex;

use tower_exec::{Command, Stdio};
use tower_loop::EventLoop;

/// The workspace's child check, one file with tower-loop's tests (beside `fd_leak.rs`).
#[path = "../../../tower-loop/tests/sock_util/child_leak.rs"]
mod child_leak;
pub(crate) use child_leak::{children, wait_until};

use crate::fd_count;

/// Serialises the tests (fd and child counts are process-wide).
pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` with a fresh loop (closed and dropped after it); asserts that no fd leaked and that
/// no child of ours is left, zombie or running. The orphan reaper (whose pipe lives as long as
/// the process) is started first so it is not counted.
pub(crate) fn clean(f: impl FnOnce(&EventLoop)) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    drop(Command::new("cat").stdin(Stdio::Pipe).spawn_raw().unwrap());
    assert!(wait_until(|| children(|_| true) == 0));
    let before = fd_count();
    let lp = EventLoop::new().unwrap();
    f(&lp);
    lp.close().unwrap();
    drop(lp);
    assert!(
        wait_until(|| children(|_| true) == 0),
        "a child was left ({} zombies)",
        children(|s| s == "Z")
    );
    assert_eq!(fd_count(), before, "an fd leaked");
}
