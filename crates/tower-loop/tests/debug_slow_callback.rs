//! Debug mode's slow-callback report (test_base_events.test_slow_callback_duration /
//! RunningLoopTests' "Executing <Handle ...> took ... seconds"), on virtual time.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tower_loop::{ContextKind, DEFAULT_SLOW_CALLBACK_DURATION, EventLoop};

/// Runs one callback that "takes" `took` of virtual time, returns the reports.
fn run_with(debug: bool, took: Duration) -> Vec<(ContextKind, Option<&'static str>)> {
    let lp = EventLoop::builder()
        .paused_clock()
        .debug(debug)
        .build()
        .unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(move |_, ctx| s.borrow_mut().push((ctx.kind, ctx.source)));
    let l2 = lp.clone();
    lp.call_soon(move || {
        l2.advance(took);
        l2.stop();
    });
    lp.run_forever().unwrap();
    seen.take()
}

#[test]
fn slow_callback_is_reported_in_debug_mode() {
    let seen = run_with(true, Duration::from_millis(150));
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].0,
        ContextKind::SlowCallback {
            elapsed: Duration::from_millis(150)
        }
    );
    assert!(
        seen[0].1.is_some_and(|s| s.contains("slow_callback")),
        "{:?}",
        seen[0].1
    );
}

#[test]
fn fast_callback_is_not_reported() {
    assert!(run_with(true, Duration::from_millis(10)).is_empty());
}

#[test]
fn nothing_is_reported_outside_debug_mode() {
    assert!(run_with(false, Duration::from_secs(1)).is_empty());
}

#[test]
fn slow_callback_duration_defaults_to_100ms_and_is_settable() {
    let lp = EventLoop::new().unwrap();
    assert_eq!(lp.slow_callback_duration(), DEFAULT_SLOW_CALLBACK_DURATION);
    assert_eq!(DEFAULT_SLOW_CALLBACK_DURATION, Duration::from_millis(100));
    lp.set_slow_callback_duration(Duration::from_millis(1));
    assert_eq!(lp.slow_callback_duration(), Duration::from_millis(1));
    assert!(!lp.get_debug());
    lp.set_debug(true);
    assert!(lp.get_debug());
}

// What ran inside a slow item and was slow on its own (tier 5's blocking calls) is named in
// that item's one report, whose source it becomes; outside a timed item nothing is collected.
#[test]
fn a_detail_added_inside_a_slow_callback_is_named_in_its_report() {
    let lp = EventLoop::builder()
        .paused_clock()
        .debug(true)
        .build()
        .unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(move |_, ctx| s.borrow_mut().push((ctx.source, ctx.message.clone())));
    let l2 = lp.clone();
    lp.call_soon(move || {
        assert!(tower_loop::add_poll_detail(
            "a slow part".to_string(),
            "the part"
        ));
        l2.advance(Duration::from_millis(150));
        l2.stop();
    });
    lp.run_forever().unwrap();
    let seen = seen.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, Some("the part"));
    assert!(
        seen[0].1.ends_with("; inside it, a slow part"),
        "{}",
        seen[0].1
    );
    // run_until_complete's own future is not an item the loop times.
    let timed = lp
        .run_until_complete(async { tower_loop::add_poll_detail("x".to_string(), "x") })
        .unwrap();
    assert!(!timed);
}
