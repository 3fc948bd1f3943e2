//! Dropping `wait` and `communicate` mid-way, and dropping a `Process` whose child runs.

use tower_coro::{Either, select, yield_now};
use tower_exec::{Command, Stdio};
use tower_loop::EventLoop;

/// Runs `f` on a fresh loop.
fn run<F: std::future::Future>(f: F) -> F::Output {
    let lp = EventLoop::new().unwrap();
    let out = lp.run_until_complete(f).unwrap();
    lp.close().unwrap();
    out
}

/// The workspace's child check and its bounded wait, one file with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/child_leak.rs"]
mod child_leak;

/// Whether `pid` is gone from the process table (reaped), polled for up to 30 s.
fn reaped_eventually(pid: u32) -> bool {
    child_leak::wait_until(|| !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

// Ports test_subprocess.py `test_cancel_process_wait`: cancelling wait() leaves the process
// waitable; waiting again reports its returncode.
#[test]
fn dropped_wait_can_be_waited_again() {
    let rc = run(async {
        let mut p = Command::new("cat").stdin(Stdio::Pipe).spawn().unwrap();
        let first = select(p.wait(), yield_now()).await;
        assert!(
            matches!(first, Either::Right(())),
            "cat cannot exit while stdin is open"
        );
        drop(p.stdin.take()); // EOF: cat exits
        p.wait().await.unwrap()
    });
    assert_eq!(rc, 0);
}

// Ports test_subprocess.py's cancellation of `communicate()` (asyncio's `test_cancel_*` family):
// the unfinished pipes go back to the Process, which can still be drained and waited for.
#[test]
fn dropped_communicate_puts_pipes_back() {
    let input = vec![b'x'; 1 << 20];
    let rc = run(async {
        let mut p = Command::new("cat")
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .spawn()
            .unwrap();
        let first = select(p.communicate(Some(&input)), yield_now()).await;
        assert!(
            matches!(first, Either::Right(())),
            "1 MiB cannot pass in one poll"
        );
        assert!(p.stdin.is_some() && p.stdout.is_some());
        drop(p.stdin.take());
        let mut rest = Vec::new();
        p.stdout
            .as_mut()
            .unwrap()
            .read_to_end(&mut rest)
            .await
            .unwrap();
        assert!(rest.len() <= input.len());
        p.wait().await.unwrap()
    });
    assert_eq!(rc, 0);
}

// A dropped Process whose child still runs is reaped by the orphan reaper once it exits.
#[test]
fn a_dropped_running_child_is_reaped() {
    let pid = run(async {
        let p = Command::new("cat").stdin(Stdio::Pipe).spawn().unwrap();
        // Dropping closes stdin, so cat exits after the Process is gone.
        p.pid()
    });
    assert!(reaped_eventually(pid));
}

// kill_on_drop: the child is killed and reaped when its Process is dropped (asyncio's
// `test_close_kill_running`).
#[test]
fn kill_on_drop_kills_and_reaps() {
    let pid = run(async {
        let p = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        p.pid()
    });
    assert!(reaped_eventually(pid));
}

// Ports test_subprocess.py `test_cancel_make_subprocess_transport_exec`: cancelling
// create_subprocess_exec never leaks the child — one already started is killed and reaped.
#[test]
fn dropped_spawn_leaks_no_child() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        for _ in 0..20 {
            // `kill_on_drop`: when the pool forks fast enough for the spawn to complete inside
            // the `select`, the caller gets the `Process`, and dropping a `Process` leaves its
            // child running unless asked (asyncio's behaviour); the dropped-spawn path kills
            // its child either way.
            let spawn = Command::new("sleep")
                .arg("1000")
                .kill_on_drop(true)
                .spawn_off_loop();
            // Poll once (the fork may or may not have happened yet), then drop.
            let _ = select(spawn, yield_now()).await;
        }
    })
    .unwrap();
    lp.close().unwrap();
    // Every `sleep 1000` we started is gone (killed and reaped), within a bounded wait.
    child_leak::assert_no_child();
}
