//! `EventLoop::on_close`: hooks for higher tiers, run once when the loop closes.
//!
//! asyncio has no public hook, but its `loop.close()` shuts the default executor down and
//! `asyncio.run` cancels leftover tasks first; tiers 4 and 5 do the same through this hook.

use std::cell::RefCell;
use std::rc::Rc;

use tower_loop::EventLoop;

#[test]
fn hooks_run_once_in_registration_order_before_pending_work_is_dropped() {
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    // A pending callback whose closure records when it is dropped.
    struct OnDrop(Rc<RefCell<Vec<&'static str>>>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.borrow_mut().push("pending callback dropped");
        }
    }
    let guard = OnDrop(log.clone());
    lp.call_soon(move || drop(guard));
    for name in ["first hook", "second hook"] {
        let log = log.clone();
        lp.on_close(move || log.borrow_mut().push(name));
    }
    lp.close().unwrap();
    lp.close().unwrap();
    assert_eq!(
        *log.borrow(),
        ["first hook", "second hook", "pending callback dropped"]
    );
}

#[test]
fn a_hook_on_a_closed_loop_runs_at_once() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    let ran = Rc::new(RefCell::new(false));
    let flag = ran.clone();
    lp.on_close(move || *flag.borrow_mut() = true);
    assert!(*ran.borrow());
}

#[test]
fn dropping_an_unclosed_loop_runs_its_hooks() {
    let ran = Rc::new(RefCell::new(0));
    {
        let lp = EventLoop::new().unwrap();
        let count = ran.clone();
        lp.on_close(move || *count.borrow_mut() += 1);
    }
    assert_eq!(*ran.borrow(), 1);
}

#[test]
fn a_panicking_hook_does_not_stop_the_others() {
    let lp = EventLoop::new().unwrap();
    lp.on_close(|| panic!("hook failure (expected by the test)"));
    let ran = Rc::new(RefCell::new(false));
    let flag = ran.clone();
    lp.on_close(move || *flag.borrow_mut() = true);
    lp.close().unwrap();
    assert!(*ran.borrow());
}
