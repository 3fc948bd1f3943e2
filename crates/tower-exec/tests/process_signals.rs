//! Exit codes, signals, process groups.

use std::io::ErrorKind;

use tower_exec::error::ProcessLookupError;
use tower_exec::{Command, Stdio, create_subprocess_exec, create_subprocess_shell};
use tower_loop::EventLoop;

/// Runs `f` on a fresh loop.
fn run<F: std::future::Future>(f: F) -> F::Output {
    let lp = EventLoop::new().unwrap();
    let out = lp.run_until_complete(f).unwrap();
    lp.close().unwrap();
    out
}

/// A child that blocks reading its stdin pipe until told otherwise.
fn blocked_child() -> tower_exec::Process {
    Command::new("cat")
        .stdin(Stdio::Pipe)
        .stdout(Stdio::DevNull)
        .spawn()
        .unwrap()
}

// Ports test_subprocess.py `test_shell` (returncode 7) and exit codes of exec.
#[test]
fn exit_codes_are_reported() {
    let (a, b, c) = run(async {
        let a = create_subprocess_shell("exit 7")
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        let b = create_subprocess_exec("sh", ["-c", "exit 0"])
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        let c = create_subprocess_exec("false", [""; 0])
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        (a, b, c)
    });
    assert_eq!((a, b, c), (7, 0, 1));
}

// Ports test_subprocess.py `test_kill`: returncode is -SIGKILL.
#[test]
fn kill_reports_minus_sigkill() {
    let rc = run(async {
        let mut p = blocked_child();
        p.kill().unwrap();
        p.wait().await.unwrap()
    });
    assert_eq!(rc, -9);
}

// Ports test_subprocess.py `test_terminate`: returncode is -SIGTERM.
#[test]
fn terminate_reports_minus_sigterm() {
    let rc = run(async {
        let mut p = blocked_child();
        p.terminate().unwrap();
        p.wait().await.unwrap()
    });
    assert_eq!(rc, -15);
}

// Ports test_subprocess.py `test_send_signal`: a signal of our choice (SIGHUP = 1).
#[test]
fn send_signal_reports_minus_the_signal() {
    let rc = run(async {
        let mut p = blocked_child();
        p.send_signal(1).unwrap();
        p.wait().await.unwrap()
    });
    assert_eq!(rc, -1);
}

// asyncio raises ProcessLookupError for send_signal after the process was reaped.
#[test]
fn signalling_a_reaped_child_is_process_lookup_error() {
    let err = run(async {
        let mut p = create_subprocess_shell("exit 0").await.unwrap();
        p.wait().await.unwrap();
        p.kill().unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.get_ref().unwrap().is::<ProcessLookupError>());
}

// Ports test_subprocess.py `test_start_new_session`/`process_group=0`: the child leads its own
// process group.
#[test]
fn process_group_zero_makes_the_child_a_group_leader() {
    let (pid, pgid) = run(async {
        let mut p = Command::new("cat")
            .stdin(Stdio::Pipe)
            .process_group(0)
            .spawn()
            .unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", p.pid())).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let pgid: u32 = after_comm.split(' ').nth(2).unwrap().parse().unwrap();
        drop(p.stdin.take());
        assert_eq!(p.wait().await.unwrap(), 0);
        (p.pid(), pgid)
    });
    assert_eq!(pid, pgid);
}

// Ports test_subprocess.py `test_popen_error`: a missing program fails at spawn with NotFound.
#[test]
fn a_missing_program_is_not_found() {
    let err = run(async {
        create_subprocess_exec("/nonexistent/program", [""; 0])
            .await
            .unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

// Spawning needs a running loop (asyncio: "no running event loop").
#[test]
fn spawning_without_a_loop_is_an_error() {
    assert!(Command::new("true").spawn().is_err());
}
