//! Unix signals delivered to the loop (test_unix_events.SelectorEventLoopSignalTests:
//! test_add_signal_handler, test_remove_signal_handler, test_add_signal_handler_install_error).

use std::cell::RefCell;
use std::rc::Rc;

use rustix::process::{Signal, getpid, kill_process};
use tower_loop::EventLoop;
use tower_loop::error::SignalError;

// test_add_signal_handler + raising the signal: the callback runs on the loop thread.
#[test]
fn raised_signal_runs_the_handler_on_the_loop_thread() {
    let lp = EventLoop::new().unwrap();
    let ran_on = Rc::new(RefCell::new(None));
    let (r, l2) = (ran_on.clone(), lp.clone());
    let sig = Signal::USR1.as_raw();
    lp.add_signal_handler(sig, move || {
        *r.borrow_mut() = Some(std::thread::current().id());
        l2.stop();
    })
    .unwrap();
    lp.call_soon(|| kill_process(getpid(), Signal::USR1).unwrap());
    lp.run_forever().unwrap();
    assert_eq!(*ran_on.borrow(), Some(std::thread::current().id()));
    assert!(lp.remove_signal_handler(sig).unwrap());
}

// test_remove_signal_handler: removing reports whether there was a handler.
#[test]
fn remove_reports_whether_a_handler_was_installed() {
    let lp = EventLoop::new().unwrap();
    let sig = Signal::USR2.as_raw();
    assert!(!lp.remove_signal_handler(sig).unwrap());
    lp.add_signal_handler(sig, || {}).unwrap();
    assert!(lp.remove_signal_handler(sig).unwrap());
    assert!(!lp.remove_signal_handler(sig).unwrap());
}

// test_add_signal_handler_install_error / SIGKILL: invalid signals are typed errors, not panics.
#[test]
fn uncatchable_or_bogus_signals_are_errors() {
    let lp = EventLoop::new().unwrap();
    for sig in [9, 19, 11, 0, -1, 1000] {
        assert!(
            matches!(lp.add_signal_handler(sig, || {}), Err(SignalError::Invalid(s)) if s == sig)
        );
    }
}

// close() removes the handlers (test_close_signal_handlers).
#[test]
fn close_removes_signal_handlers() {
    let lp = EventLoop::new().unwrap();
    let sig = Signal::WINCH.as_raw();
    lp.add_signal_handler(sig, || {}).unwrap();
    lp.close().unwrap();
    assert!(matches!(
        lp.add_signal_handler(sig, || {}),
        Err(SignalError::Closed)
    ));
}
