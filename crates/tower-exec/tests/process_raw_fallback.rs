//! [`RawChild`](tower_exec::RawChild) without pidfds (forced with `TOWER_EXEC_NO_PIDFD=1`; one
//! test in this file so the variable is set before any spawn): the exit fd is a watcher
//! thread's pipe, signals go by pid.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use tower_exec::{Command, Stdio};

/// The workspace's fd-leak check, one file with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
use fd_leak::fd_count as fds;

#[test]
fn watcher_pipe_shows_the_exit() {
    // SAFETY: this is the only test in this binary and it sets the variable before any other
    // thread of ours exists or reads the environment.
    unsafe { std::env::set_var("TOWER_EXEC_NO_PIDFD", "1") };
    let before = fds();
    for (cmd, rc) in [("exit 7", 7), ("kill -TERM $$", -15)] {
        let mut child = Command::shell(cmd).spawn_raw().unwrap();
        let fd = child
            .exit_fd()
            .unwrap()
            .as_fd()
            .try_clone_to_owned()
            .unwrap();
        let mut pfd = [PollFd::new(&fd, PollFlags::IN)];
        poll(&mut pfd, None).unwrap();
        drop(fd);
        assert_eq!(child.try_wait().unwrap(), Some(rc));
    }
    let mut child = Command::new("cat").stdin(Stdio::Pipe).spawn_raw().unwrap();
    child.kill().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let rc = loop {
        if let Some(rc) = child.try_wait().unwrap() {
            break rc;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(rc, -9);
    drop(child); // closes the stdin pipe
    // The watcher threads have closed their write ends; ours are closed with the children.
    let deadline = Instant::now() + Duration::from_secs(30);
    while fds() != before {
        assert!(Instant::now() < deadline, "fd leak");
        std::thread::sleep(Duration::from_millis(5));
    }
}
