//! The exception handler (test_base_events.test_default_exc_handler_callback,
//! test_set_exc_handler_custom, test_set_exc_handler_broken).

use std::cell::RefCell;
use std::rc::Rc;

use tower_loop::{ContextKind, EventLoop, ExceptionContext};

/// What the recording handler saw: (kind, message, panic message).
type Seen = Rc<RefCell<Vec<(ContextKind, String, Option<String>)>>>;

/// Installs a handler that records what it sees.
fn record(lp: &EventLoop) -> Seen {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(move |_lp, ctx| {
        s.borrow_mut().push((
            ctx.kind,
            ctx.message.clone(),
            ctx.panic_message().map(str::to_owned),
        ));
    });
    seen
}

// test_default_exc_handler_callback: a panicking callback is reported and the loop goes on.
#[test]
fn panicking_callback_is_reported_and_the_loop_continues() {
    let lp = EventLoop::new().unwrap();
    let seen = record(&lp);
    let after = Rc::new(RefCell::new(false));
    lp.call_soon(|| panic!("boom"));
    let a = after.clone();
    lp.call_soon(move || *a.borrow_mut() = true);
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    lp.run_forever().unwrap();
    assert!(*after.borrow());
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, ContextKind::Panic);
    assert_eq!(seen[0].2.as_deref(), Some("boom"));
}

// A panicking task poll is reported as "a task poll"; other tasks keep running.
#[test]
fn panicking_task_is_reported() {
    let lp = EventLoop::new().unwrap();
    let seen = record(&lp);
    let (r, t) = async_task::spawn_local(async { panic!("task boom") }, lp.handle().scheduler());
    r.schedule();
    t.detach();
    lp.run_until_complete(async {}).unwrap();
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    lp.run_forever().unwrap();
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].1.contains("a task poll"), "{}", seen[0].1);
    assert_eq!(seen[0].2.as_deref(), Some("task boom"));
}

// test_set_exc_handler_broken: a panicking handler falls back to the default one; the loop
// keeps running.
#[test]
fn panicking_handler_falls_back_to_default() {
    let lp = EventLoop::new().unwrap();
    lp.set_exception_handler(|_, _| panic!("handler broken"));
    let after = Rc::new(RefCell::new(false));
    lp.call_soon(|| panic!("boom"));
    let a = after.clone();
    let l2 = lp.clone();
    lp.call_soon(move || {
        *a.borrow_mut() = true;
        l2.stop();
    });
    lp.run_forever().unwrap();
    assert!(*after.borrow());
}

// call_exception_handler reaches the custom handler; reset goes back to the default.
#[test]
fn call_exception_handler_reaches_the_custom_handler() {
    let lp = EventLoop::new().unwrap();
    let seen = record(&lp);
    assert!(lp.get_exception_handler().is_some());
    lp.call_exception_handler(&ExceptionContext::new("custom"));
    assert_eq!(seen.borrow()[0].1, "custom");
    lp.reset_exception_handler();
    assert!(lp.get_exception_handler().is_none());
    lp.call_exception_handler(&ExceptionContext::new("to stderr"));
    assert_eq!(seen.borrow().len(), 1);
}
