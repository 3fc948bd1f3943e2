//! 500 short-lived children leave no zombie and no fd behind. One test in this file, so no other
//! test's children or fds change the counts.

use tower_exec::{Command, Stdio};
use tower_loop::EventLoop;

#[path = "../../tower-loop/tests/sock_util/child_leak.rs"]
mod child_leak;
/// The workspace's fd and child checks, one file each with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/fd_leak.rs"]
mod fd_leak;
use child_leak::{children, wait_until, zombies};
use fd_leak::fd_count as fds;

// The zombie test (CPython's test_subprocess checks `support.reap_children()` leaves
// nothing): waited, communicated, and dropped children alike are all reaped, all fds closed.
#[test]
fn five_hundred_children_leave_no_zombie_and_no_fd() {
    // Warm up on a loop of its own: the orphan reaper's thread and pipe exist from the first
    // dropped running child, and stay for the process.
    let warm = EventLoop::new().unwrap();
    warm.run_until_complete(async {
        drop(Command::new("cat").stdin(Stdio::Pipe).spawn().unwrap());
    })
    .unwrap();
    warm.close().unwrap();
    drop(warm);
    // The orphan `cat` must be gone altogether (not merely "not a zombie yet": a running child
    // isn't one), or its pidfd, held by the reaper until it exits, would be counted below.
    assert!(wait_until(|| children(|_| true) == 0));
    // Counted with no loop alive, and compared with no loop alive: a loop's own fds (its poller)
    // are not what this test is about (`tower-loop`'s fd test covers them).
    let fds_before = fds();

    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        for batch in 0..10 {
            let mut waits = Vec::new();
            for i in 0..50 {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", "exit 3"]);
                match i % 5 {
                    // Plain wait.
                    0 | 1 => waits.push(cmd.spawn().unwrap()),
                    // Pipes and communicate.
                    2 => {
                        let mut p = Command::new("cat")
                            .stdin(Stdio::Pipe)
                            .stdout(Stdio::Pipe)
                            .stderr(Stdio::Pipe)
                            .spawn()
                            .unwrap();
                        let out = p.communicate(Some(b"ping")).await.unwrap();
                        assert_eq!(out.stdout, b"ping");
                    }
                    // Dropped while running: the orphan reaper's job.
                    3 => drop(Command::new("cat").stdin(Stdio::Pipe).spawn().unwrap()),
                    // Dropped after exit without being waited for.
                    _ => drop(cmd.stdout(Stdio::Pipe).spawn().unwrap()),
                }
            }
            let rcs = tower_coro::join_all(waits.iter_mut().map(|p| p.wait())).await;
            assert!(rcs.into_iter().all(|rc| rc.unwrap() == 3), "batch {batch}");
        }
    })
    .unwrap();
    lp.close().unwrap();
    drop(lp);

    assert!(wait_until(|| zombies() == 0), "{} zombies left", zombies());
    assert!(
        wait_until(|| fds() == fds_before),
        "fds: {} before, {} after",
        fds_before,
        fds()
    );
}
