//! What a signal does once the loop's handler is gone (test_unix_events
//! SelectorEventLoopSignalTests: test_remove_signal_handler, whose `signal.signal(sig,
//! SIG_DFL)` asyncio makes for every removed handler, and test_remove_signal_handler_cleanup).
//! The tests that raise a signal whose action may be fatal run in a child process (this
//! binary, re-run), so a failure ends the child, not the test run.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use rustix::process::{Signal, getpid, kill_process};
use tower_loop::EventLoop;

/// Set in the child's environment: run the scenario instead of spawning.
const CHILD: &str = "TOWER_LOOP_SIGNALS_CHILD";

/// Whether this process is a child spawned by [`run_child`].
fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs test `name` of this binary in a child process; its exit status.
fn run_child(name: &str) -> std::process::ExitStatus {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
}

/// The handler address of `sig`'s current action (`SIG_DFL` is 0, `SIG_IGN` 1).
fn action_of(sig: i32) -> libc::sighandler_t {
    // SAFETY: an all-zero `sigaction` is a valid C struct to be written by `sigaction`.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current one into `old`.
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0);
    old.sa_sigaction
}

// Ctrl-C works again: after the last SIGINT handler is removed, SIGINT ends the process (the
// tower used to leave it ignored).
#[test]
fn removing_the_last_handler_lets_ctrl_c_end_the_program_again() {
    if is_child() {
        let lp = EventLoop::new().unwrap();
        lp.add_signal_handler(Signal::INT.as_raw(), || {}).unwrap();
        assert!(lp.remove_signal_handler(Signal::INT.as_raw()).unwrap());
        kill_process(getpid(), Signal::INT).unwrap();
        // Not reached: SIGINT's default action ends the process (delivery to the calling
        // thread happens before `kill` returns, the signal being unblocked).
        return;
    }
    let status = run_child("removing_the_last_handler_lets_ctrl_c_end_the_program_again");
    assert_eq!(status.signal(), Some(Signal::INT.as_raw()), "{status:?}");
}

// The default action comes back only when no loop of the process handles the signal: with a
// second loop still handling it, it still runs that loop's handler.
#[test]
fn the_action_is_restored_only_when_no_loop_handles_the_signal() {
    if is_child() {
        let sig = Signal::TERM.as_raw();
        let (a, b) = (EventLoop::new().unwrap(), EventLoop::new().unwrap());
        a.add_signal_handler(sig, || {}).unwrap();
        let b2 = b.clone();
        b.add_signal_handler(sig, move || b2.stop()).unwrap();
        assert!(a.remove_signal_handler(sig).unwrap());
        b.call_soon(|| kill_process(getpid(), Signal::TERM).unwrap());
        b.run_forever().unwrap(); // b's handler ran: the process is alive
        b.close().unwrap();
        kill_process(getpid(), Signal::TERM).unwrap();
        return;
    }
    let status = run_child("the_action_is_restored_only_when_no_loop_handles_the_signal");
    assert_eq!(status.signal(), Some(Signal::TERM.as_raw()), "{status:?}");
}

// Adding a handler again after the action was restored: the handler runs (the registry's
// process-wide handler is put back).
#[test]
fn a_handler_added_again_after_removal_runs() {
    if is_child() {
        let sig = Signal::USR2.as_raw();
        let lp = EventLoop::new().unwrap();
        lp.add_signal_handler(sig, || {}).unwrap();
        assert!(lp.remove_signal_handler(sig).unwrap());
        let l2 = lp.clone();
        lp.add_signal_handler(sig, move || l2.stop()).unwrap();
        lp.call_soon(|| kill_process(getpid(), Signal::USR2).unwrap());
        lp.run_forever().unwrap();
        return;
    }
    let status = run_child("a_handler_added_again_after_removal_runs");
    assert!(status.success(), "{status:?}");
}

// close() removes the loop's handlers, and so restores the default action too.
#[test]
fn closing_the_loop_restores_the_default_action() {
    let sig = Signal::VTALARM.as_raw();
    assert_eq!(action_of(sig), libc::SIG_DFL);
    let lp = EventLoop::new().unwrap();
    lp.add_signal_handler(sig, || {}).unwrap();
    assert_ne!(action_of(sig), libc::SIG_DFL);
    lp.close().unwrap();
    assert_eq!(action_of(sig), libc::SIG_DFL);
}

// What is restored is the action the signal had before, not always SIG_DFL: Rust programs
// ignore SIGPIPE, and they still do after a SIGPIPE handler is removed.
#[test]
fn an_ignored_signal_is_ignored_again_after_removal() {
    let sig = Signal::PIPE.as_raw();
    assert_eq!(action_of(sig), libc::SIG_IGN);
    let lp = EventLoop::new().unwrap();
    lp.add_signal_handler(sig, || {}).unwrap();
    assert!(lp.remove_signal_handler(sig).unwrap());
    assert_eq!(action_of(sig), libc::SIG_IGN);
}

// test_remove_signal_handler for a signal without a handler: `False`, for any valid signal
// number, SIGKILL included (asyncio's `_check_signal` accepts every `valid_signals()`); a
// number that is no signal is an error.
#[test]
fn removing_a_handler_that_is_not_installed_returns_false() {
    let lp = EventLoop::new().unwrap();
    for sig in [Signal::KILL, Signal::STOP, Signal::SEGV, Signal::HUP] {
        assert!(
            matches!(lp.remove_signal_handler(sig.as_raw()), Ok(false)),
            "{sig:?}"
        );
    }
    for sig in [0, -1, 1000] {
        assert!(lp.remove_signal_handler(sig).is_err());
    }
}
