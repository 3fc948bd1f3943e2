//! 500 short-lived children leave no zombie and no fd behind. One test in this file, so no other
//! test's children or fds change the counts.

use std::time::{Duration, Instant};

use tower_exec::{Command, Stdio};
use tower_loop::EventLoop;

/// Our children in state Z (zombies), from /proc/*/stat.
fn zombies() -> usize {
    children(|state| state == "Z")
}

/// Our children (any state, from /proc/*/stat) whose state passes `which`.
fn children(which: impl Fn(&str) -> bool) -> usize {
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

/// Open fds of this process.
fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Polls until `cond` holds or 30 s pass.
fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

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
