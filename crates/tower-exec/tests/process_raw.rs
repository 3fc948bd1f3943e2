//! [`RawChild`]: a child bound to no loop — its pipes as plain fds, its exit as a readable fd,
//! reaped by `try_wait` or, when dropped, by the orphan reaper. Each test checks the fd and
//! zombie counts before and after; the tests run one at a time (one lock), since the counts are
//! process-wide.

use std::io::{Read, Write};
use std::os::fd::BorrowedFd;
use std::sync::Mutex;

use rustix::event::{PollFd, PollFlags, poll};
use tower_exec::{Command, RawChild, Stdio};

/// Serialises the tests (fd and child counts are process-wide).
static SERIAL: Mutex<()> = Mutex::new(());

#[path = "../../tower-loop/tests/sock_util/child_leak.rs"]
mod child_leak;
/// The workspace's fd and child checks, one file each with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
use child_leak::{children, wait_until};
use fd_leak::fd_count as fds;

/// Runs `f`; asserts that afterwards no child of ours is left (zombie or running) and no fd
/// leaked. The orphan reaper's thread and pipe are made first, so they are not counted.
fn clean(f: impl FnOnce()) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    warm_reaper();
    let before = fds();
    f();
    assert!(wait_until(|| children(|_| true) == 0), "a child was left");
    assert_eq!(fds(), before, "an fd leaked");
}

/// Makes the orphan reaper exist (its pipe lives as long as the process).
fn warm_reaper() {
    drop(Command::new("cat").stdin(Stdio::Pipe).spawn_raw().unwrap());
    assert!(wait_until(|| children(|_| true) == 0));
}

/// Blocks until `fd` is readable.
fn wait_readable(fd: BorrowedFd<'_>) {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    poll(&mut fds, None).unwrap();
}

/// Waits for the child's exit on its exit fd, then reaps it.
fn wait(child: &mut RawChild) -> i32 {
    wait_readable(child.exit_fd().unwrap());
    child.try_wait().unwrap().unwrap()
}

#[test]
fn pipes_are_plain_fds_and_exit_fd_shows_the_exit() {
    clean(|| {
        let mut child = Command::new("cat")
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .spawn_raw()
            .unwrap();
        assert!(child.take_stderr().is_none());
        assert_eq!(child.try_wait().unwrap(), None);
        let mut stdin = std::fs::File::from(child.take_stdin().unwrap());
        stdin.write_all(b"through cat").unwrap();
        drop(stdin);
        let mut out = Vec::new();
        std::fs::File::from(child.take_stdout().unwrap())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"through cat");
        assert_eq!(wait(&mut child), 0);
        assert_eq!(child.returncode(), Some(0));
        assert!(child.exit_fd().is_none());
        let err = child.kill().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    });
}

#[test]
fn signals_give_minus_the_signal_number() {
    clean(|| {
        let mut child = Command::new("sleep").arg("30").spawn_raw().unwrap();
        child.kill().unwrap();
        assert_eq!(wait(&mut child), -9);
        let mut child = Command::new("sleep").arg("30").spawn_raw().unwrap();
        child.terminate().unwrap();
        assert_eq!(wait(&mut child), -15);
        let child = Command::new("sleep").arg("30").spawn_raw().unwrap();
        let err = child.send_signal(12345).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        child.kill().unwrap();
    });
}

#[test]
fn stderr_into_stdout_shares_one_pipe() {
    clean(|| {
        let mut child = Command::shell("echo out; echo err >&2")
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Stdout)
            .spawn_raw()
            .unwrap();
        assert!(child.take_stderr().is_none());
        let mut out = String::new();
        std::fs::File::from(child.take_stdout().unwrap())
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "out\nerr\n");
        assert_eq!(wait(&mut child), 0);
    });
}

#[test]
fn dropped_running_child_is_reaped() {
    clean(|| {
        // Not killed on drop (the default): it ends when its stdin closes, and is reaped then.
        let child = Command::new("cat").stdin(Stdio::Pipe).spawn_raw().unwrap();
        drop(child);
        // Killed on drop.
        let mut child = Command::new("sleep").arg("30").spawn_raw().unwrap();
        child.set_kill_on_drop(true);
        let pid = child.pid();
        drop(child);
        assert!(wait_until(|| !std::path::Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()));
    });
}

#[test]
fn missing_program_is_not_found_and_leaves_nothing() {
    clean(|| {
        let err = Command::new("/nonexistent/program")
            .spawn_raw()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        let err = Command::new("cat")
            .stdout(Stdio::Stdout)
            .spawn_raw()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    });
}
