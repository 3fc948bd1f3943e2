//! The default exception handler never takes the loop down: a stderr it cannot write to loses
//! the report, and the loop goes on (asyncio's `default_exception_handler` logs through
//! `logging`, whose handlers swallow stream errors: `Handler.handleError`). Each test re-runs
//! this binary as a child whose stderr is broken, so the parent's stderr is untouched.

use std::fs::File;
use std::process::{Command, Stdio};

use tower_loop::EventLoop;

/// Set in the child's environment: run the scenario instead of spawning.
const CHILD: &str = "TOWER_LOOP_EXCEPTION_CHILD";

/// In the child: a panicking callback is reported to the default handler, and the loop still
/// runs the next callback. Returns `false` in the parent.
fn child_scenario() -> bool {
    if std::env::var_os(CHILD).is_none() {
        return false;
    }
    let lp = EventLoop::new().unwrap();
    let after = std::rc::Rc::new(std::cell::Cell::new(false));
    lp.call_soon(|| panic!("boom"));
    let (a, l2) = (after.clone(), lp.clone());
    lp.call_soon(move || {
        a.set(true);
        l2.stop();
    });
    lp.run_forever().unwrap();
    assert!(after.get());
    lp.call_exception_handler(&tower_loop::ExceptionContext::new("a direct report"));
    true
}

/// Runs test `name` of this binary in a child with `stderr`; whether it passed.
fn run_child(name: &str, stderr: Stdio) -> bool {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .unwrap()
        .success()
}

// stderr is a pipe whose reader is gone (`prog 2>&1 | head -0`): writes fail with EPIPE (Rust
// programs ignore SIGPIPE), which made the default handler's `eprintln!` panic out of the loop.
#[test]
fn default_handler_survives_a_broken_pipe_on_stderr() {
    if child_scenario() {
        return;
    }
    let (read, write) = rustix::pipe::pipe().unwrap();
    drop(read);
    assert!(run_child(
        "default_handler_survives_a_broken_pipe_on_stderr",
        Stdio::from(write)
    ));
}

// stderr is a device that refuses every write (ENOSPC).
#[test]
fn default_handler_survives_a_full_stderr() {
    if child_scenario() {
        return;
    }
    let full = File::options().write(true).open("/dev/full").unwrap();
    assert!(run_child(
        "default_handler_survives_a_full_stderr",
        Stdio::from(full)
    ));
}
