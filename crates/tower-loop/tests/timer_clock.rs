//! The loop's time for new deadlines (`EventLoop::iteration_time`): read once per iteration and
//! shared by the whole batch (docs/decisions/0010-timer-clock-and-cancellation.md); and
//! cancelled timers dropping what they hold at once.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tower_loop::{EventLoop, Timer};

/// A callback that runs long: spins (no sleep) until `d` has passed on the real clock.
fn run_long(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

// asyncio's call_later within one batch: equal delays give equal deadlines, which fire in
// scheduling order, even when a callback between them ran long.
#[test]
fn timers_scheduled_in_one_batch_share_one_now() {
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let whens = Rc::new(RefCell::new(Vec::new()));
    for name in ["a", "b"] {
        let (l2, log, whens) = (lp.clone(), log.clone(), whens.clone());
        lp.call_soon(move || {
            let h = l2.call_later(Duration::from_millis(2), move || {
                log.borrow_mut().push(name)
            });
            whens.borrow_mut().push(h.when());
            run_long(Duration::from_millis(3));
        });
    }
    let l2 = lp.clone();
    lp.call_later(Duration::from_millis(50), move || l2.stop());
    lp.run_forever().unwrap();
    let whens = whens.borrow();
    assert_eq!(whens[0], whens[1]);
    assert_eq!(*log.borrow(), ["a", "b"]);
}

// A timer scheduled after a long callback is relative to the loop's time of the batch (as
// tokio's are relative to its driver's time), not to the clock after the long callback; it
// still fires only once the clock has reached its deadline.
#[test]
fn a_timer_scheduled_after_a_long_callback_is_relative_to_the_iteration_time() {
    let lp = EventLoop::new().unwrap();
    let seen = Rc::new(RefCell::new(None));
    let fired_at = Rc::new(RefCell::new(None));
    let l2 = lp.clone();
    lp.call_soon(move || {
        // The batch's first need of the time: it is read here.
        let _ = l2.iteration_time();
        run_long(Duration::from_millis(20));
    });
    let (l2, s2, f2) = (lp.clone(), seen.clone(), fired_at.clone());
    lp.call_soon(move || {
        let batch = l2.iteration_time();
        let fresh = l2.time();
        let l3 = l2.clone();
        let h = l2.call_later(Duration::from_millis(30), move || {
            *f2.borrow_mut() = Some(l3.time());
            l3.stop();
        });
        *s2.borrow_mut() = Some((batch, fresh, h.when()));
    });
    lp.run_forever().unwrap();
    let (batch, fresh, when) = seen.borrow().unwrap();
    assert!(
        fresh - batch >= Duration::from_millis(20),
        "the batch's time is cached"
    );
    assert_eq!(when, batch + Duration::from_millis(30));
    assert!(fired_at.borrow().unwrap() >= when);
}

// Outside an iteration (before a run, between runs) the loop's time is the clock now: a
// value cached in a batch does not leak out of it.
#[test]
fn outside_an_iteration_the_time_is_fresh() {
    let lp = EventLoop::new().unwrap();
    let l2 = lp.clone();
    let inside = lp
        .run_until_complete(async move { l2.iteration_time() })
        .unwrap();
    run_long(Duration::from_millis(5));
    let t1 = lp.iteration_time();
    assert!(t1 - inside >= Duration::from_millis(5));
    run_long(Duration::from_millis(5));
    let h = lp.call_later(Duration::from_secs(1), || {});
    assert!(h.when() - t1 >= Duration::from_millis(1005));
}

// A run left by a panic does not leave a cached time behind.
#[test]
fn a_panicking_run_leaves_no_cached_time() {
    let lp = EventLoop::new().unwrap();
    let l2 = lp.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lp.run_until_complete(async move {
            let _ = l2.iteration_time();
            panic!("boom");
        })
    }));
    assert!(r.is_err());
    let before = lp.iteration_time();
    run_long(Duration::from_millis(5));
    assert!(lp.iteration_time() - before >= Duration::from_millis(5));
}

// Virtual time: the paused clock is never cached, so `advance` within a batch moves the
// deadlines of timers scheduled after it.
#[test]
fn paused_clock_advance_is_seen_within_the_batch() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let start = lp.time();
    let whens = Rc::new(RefCell::new(Vec::new()));
    let (l2, w2) = (lp.clone(), whens.clone());
    lp.call_soon(move || {
        w2.borrow_mut()
            .push(l2.call_later(Duration::from_secs(1), || {}).when());
        l2.advance(Duration::from_secs(10));
        w2.borrow_mut()
            .push(l2.call_later(Duration::from_secs(1), || {}).when());
        l2.stop();
    });
    lp.run_forever().unwrap();
    let whens = whens.borrow();
    assert_eq!(whens[0] - start, Duration::from_secs(1));
    assert_eq!(whens[1] - start, Duration::from_secs(11));
    assert_eq!(lp.iteration_time(), lp.time());
}

/// Counts its drops.
struct DropFlag(Rc<RefCell<u32>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.borrow_mut() += 1;
    }
}

// Cancelling a call_later drops its closure (and what it captured) at once, not when the
// stale heap entry surfaces or the heap is compacted.
#[test]
fn a_cancelled_timer_drops_its_closure_at_once() {
    let lp = EventLoop::new().unwrap();
    let drops = Rc::new(RefCell::new(0));
    let flag = DropFlag(drops.clone());
    let h = lp.call_later(Duration::from_secs(60), move || drop(flag));
    assert_eq!(lp.pending_timers(), 1);
    h.cancel();
    assert_eq!(*drops.borrow(), 1);
    assert_eq!(lp.pending_timers(), 0);
}

/// A waker that does nothing (its `Arc`'s count shows who holds it).
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Polls the timer once with `waker`, then drops it.
struct PollThenDrop {
    timer: Option<Timer>,
    waker: Waker,
    /// The waker's `Arc`, to count its holders.
    noop: Arc<Noop>,
}

impl Future for PollThenDrop {
    type Output = (usize, usize);
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<(usize, usize)> {
        let mut timer = self.timer.take().unwrap();
        let mut cx = Context::from_waker(&self.waker);
        assert!(Pin::new(&mut timer).poll(&mut cx).is_pending());
        let registered = Arc::strong_count(&self.noop);
        drop(timer);
        Poll::Ready((registered, Arc::strong_count(&self.noop)))
    }
}

// Dropping a pending Timer drops its waker at once.
#[test]
fn a_dropped_timer_drops_its_waker_at_once() {
    let lp = EventLoop::new().unwrap();
    let noop = Arc::new(Noop);
    let waker = Waker::from(noop.clone());
    let (registered, after) = lp
        .run_until_complete(PollThenDrop {
            timer: Some(Timer::after(Duration::from_secs(60))),
            waker,
            noop,
        })
        .unwrap();
    // The test's Arc, the future's waker, and the timer entry's clone.
    assert_eq!(registered, 3);
    assert_eq!(after, 2);
    assert_eq!(lp.pending_timers(), 0);
}

// 10^5 timeouts registered then cancelled leave no entry behind, and the ones still pending
// fire in deadline order.
#[test]
fn mostly_cancelled_timers_keep_order() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut handles = Vec::new();
    for i in 0..100_000u64 {
        let log = log.clone();
        let d = Duration::from_millis((i * 7919) % 1000);
        handles.push((i, lp.call_later(d, move || log.borrow_mut().push((d, i)))));
    }
    for (i, h) in &handles {
        if i % 100 != 0 {
            h.cancel();
        }
    }
    assert_eq!(lp.pending_timers(), 1000);
    let l2 = lp.clone();
    lp.call_later(Duration::from_secs(2), move || l2.stop());
    lp.run_forever().unwrap();
    let log = log.borrow();
    assert_eq!(log.len(), 1000);
    assert!(log.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(lp.pending_timers(), 0);
}
