//! Virtual time (asyncio's test_utils.TestLoop, tokio's `time::pause`): no test sleeps.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tower_loop::{EventLoop, Timer};

// TestLoop: a one-hour timer completes without waiting an hour; the clock jumps.
#[test]
fn paused_clock_jumps_to_the_next_timer() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let start = lp.time();
    let real = std::time::Instant::now();
    lp.run_until_complete(Timer::after(Duration::from_secs(3600)))
        .unwrap();
    assert_eq!(lp.time() - start, Duration::from_secs(3600));
    // Not a timing assertion on the loop: only that an hour of real time did not pass.
    assert!(real.elapsed() < Duration::from_secs(3600));
}

// The clock stands still while work is ready.
#[test]
fn paused_clock_does_not_move_while_work_is_ready() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let start = lp.time();
    let seen = Rc::new(RefCell::new(Vec::new()));
    for _ in 0..3 {
        let (l, s) = (lp.clone(), seen.clone());
        lp.call_soon(move || s.borrow_mut().push(l.time()));
    }
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    lp.run_forever().unwrap();
    assert!(seen.borrow().iter().all(|t| *t == start));
}

// advance() moves the clock by hand; due timers run on the next iteration.
#[test]
fn advance_moves_the_clock() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let fired = Rc::new(RefCell::new(false));
    let f = fired.clone();
    lp.call_later(Duration::from_secs(10), move || *f.borrow_mut() = true);
    assert!(lp.advance(Duration::from_secs(10)));
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    lp.run_forever().unwrap();
    assert!(*fired.borrow());
}

// A real clock refuses advance().
#[test]
fn real_clock_does_not_advance() {
    let lp = EventLoop::new().unwrap();
    assert!(!lp.advance(Duration::from_secs(1)));
    assert!(!lp.is_clock_paused());
}
