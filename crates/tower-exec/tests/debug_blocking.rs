//! Debug mode names blocking calls made on the loop thread.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tower_exec::blocking_call;
use tower_loop::{ContextKind, EventLoop};

/// What the exception handler saw: (source, kind) of each report.
type Seen = Rc<RefCell<Vec<(Option<&'static str>, ContextKind)>>>;

/// A loop in debug mode with threshold `threshold`, and the (source, kind) of each report.
fn debug_loop(on: bool, threshold: Duration) -> (EventLoop, Seen) {
    let lp = EventLoop::builder().debug(on).build().unwrap();
    lp.set_slow_callback_duration(threshold);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(move |_, ctx| s.borrow_mut().push((ctx.source, ctx.kind)));
    (lp, seen)
}

// Ports test_base_events.py `test_run_once_logging`/slow-callback logging in debug mode: a
// blocking call over the threshold (zero here, so the test needs no timing) is reported by name.
#[test]
fn a_slow_blocking_call_is_reported_by_name() {
    let (lp, seen) = debug_loop(true, Duration::ZERO);
    lp.run_until_complete(async { blocking_call("load model", || 1) })
        .unwrap();
    let seen = seen.borrow();
    assert!(
        seen.iter().any(|(src, kind)| *src == Some("load model")
            && matches!(kind, ContextKind::SlowCallback { .. })),
        "{seen:?}"
    );
}

// Outside debug mode nothing is reported (and no clock is read).
#[test]
fn nothing_is_reported_without_debug_mode() {
    let (lp, seen) = debug_loop(false, Duration::ZERO);
    lp.run_until_complete(async { blocking_call("load model", || 1) })
        .unwrap();
    assert!(seen.borrow().is_empty());
}

// A call under the threshold is not reported (threshold of an hour: no call takes that long).
#[test]
fn a_fast_call_is_not_reported() {
    let (lp, seen) = debug_loop(true, Duration::from_secs(3600));
    lp.run_until_complete(async { blocking_call("quick", || 1) })
        .unwrap();
    assert!(!seen.borrow().iter().any(|(src, _)| *src == Some("quick")));
}

// Inside a callback (or a task poll), which the loop itself times: one report for the stall
// (the loop's, of the callback), naming the call and with the call as its source — not a
// second report.
#[test]
fn a_slow_blocking_call_inside_a_callback_is_reported_once() {
    let lp = EventLoop::builder().debug(true).build().unwrap();
    lp.set_slow_callback_duration(Duration::ZERO);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(move |_, ctx| {
        if matches!(ctx.kind, ContextKind::SlowCallback { .. }) {
            s.borrow_mut().push((ctx.source, ctx.message.clone()));
        }
    });
    lp.call_soon(|| {
        blocking_call("load model", || 1);
    });
    lp.run_until_complete(tower_coro::yield_now()).unwrap();
    let seen = seen.borrow();
    let about_the_call: Vec<_> = seen
        .iter()
        .filter(|(_, m)| m.contains("load model"))
        .collect();
    assert_eq!(about_the_call.len(), 1, "{seen:?}");
    let (source, message) = about_the_call[0];
    assert_eq!(*source, Some("load model"));
    assert!(message.starts_with("executing "), "{message}");
    assert!(
        message.contains("; inside it, blocking call load model"),
        "{message}"
    );
}
