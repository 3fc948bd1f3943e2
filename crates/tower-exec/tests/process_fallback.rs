//! The no-pidfd fallback (kernels before 5.3): exit noticed by a watcher thread blocked in
//! `waitid(WNOWAIT)`, orphans reaped by the reaper thread's timed polls. Forced here with
//! `TOWER_EXEC_NO_PIDFD=1`; one test in this file so the variable is set before any spawn.

use std::time::{Duration, Instant};

use tower_exec::{Command, Stdio};
use tower_loop::EventLoop;

// Ports test_subprocess.py's `test_kill`, `test_communicate` and exit-code scenarios as run
// under asyncio's SafeChildWatcher/ThreadedChildWatcher (the non-pidfd watchers).
#[test]
fn fallback_reaper_waits_communicates_and_reaps_orphans() {
    // SAFETY: this is the only test in this binary and it sets the variable before any other
    // thread of ours exists or reads the environment.
    unsafe { std::env::set_var("TOWER_EXEC_NO_PIDFD", "1") };
    let lp = EventLoop::new().unwrap();
    let orphan = lp
        .run_until_complete(async {
            let rc = Command::new("sh")
                .args(["-c", "exit 5"])
                .spawn()
                .unwrap()
                .wait()
                .await;
            assert_eq!(rc.unwrap(), 5);

            let mut p = Command::new("cat").stdin(Stdio::Pipe).spawn().unwrap();
            p.kill().unwrap();
            assert_eq!(p.wait().await.unwrap(), -9);

            let mut p = Command::new("cat")
                .stdin(Stdio::Pipe)
                .stdout(Stdio::Pipe)
                .spawn()
                .unwrap();
            let out = p.communicate(Some(b"fallback")).await.unwrap();
            assert_eq!(
                (out.returncode, out.stdout.as_slice()),
                (0, &b"fallback"[..])
            );

            let orphan = Command::new("cat").stdin(Stdio::Pipe).spawn().unwrap();
            orphan.pid()
        })
        .unwrap();
    lp.close().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::path::Path::new(&format!("/proc/{orphan}")).exists() {
        assert!(Instant::now() < deadline, "orphan {orphan} not reaped");
        std::thread::sleep(Duration::from_millis(5));
    }
}
