//! The `Timer` future (what tier 4's `sleep`/`timeout`/`wait_for` wrap); ports
//! test_tasks.test_sleep-style scenarios on virtual time.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tower_loop::{EventLoop, Timer};

// test_tasks.test_sleep: a sleep completes at its deadline.
#[test]
fn timer_fires_at_its_deadline() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let start = lp.time();
    let fired = lp
        .run_until_complete(Timer::after(Duration::from_millis(250)))
        .unwrap();
    assert_eq!(fired - start, Duration::from_millis(250));
    assert_eq!(lp.time() - start, Duration::from_millis(250));
}

/// Polls a future once, then yields it back.
struct PollOnce<F>(Option<F>);

impl<F: Future + Unpin> Future for PollOnce<F> {
    type Output = F;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F> {
        let mut f = self.0.take().unwrap();
        assert!(Pin::new(&mut f).poll(cx).is_pending());
        Poll::Ready(f)
    }
}

// test_tasks.test_sleep_cancel: dropping a pending timer removes its entry.
#[test]
fn dropping_a_pending_timer_cancels_its_entry() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let timer = lp
        .run_until_complete(PollOnce(Some(Timer::after(Duration::from_secs(10)))))
        .unwrap();
    assert_eq!(lp.pending_timers(), 1);
    drop(timer);
    assert_eq!(lp.pending_timers(), 0);
}

// Re-polling with the same waker does not add entries.
#[test]
fn repolling_does_not_add_entries() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let timer = lp
        .run_until_complete(PollOnce(Some(Timer::after(Duration::from_secs(10)))))
        .unwrap();
    let timer = lp.run_until_complete(PollOnce(Some(timer))).unwrap();
    assert_eq!(lp.pending_timers(), 1);
    drop(timer);
}

// reset moves the deadline (tier 4's timeout().reschedule()).
#[test]
fn reset_moves_the_deadline() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let start = lp.time();
    let fired = lp
        .run_until_complete(async {
            let mut t = Timer::after(Duration::from_secs(100));
            t.reset(start + Duration::from_secs(1));
            t.await
        })
        .unwrap();
    assert_eq!(fired - start, Duration::from_secs(1));
    assert_eq!(lp.pending_timers(), 0);
}

// The multi-threaded runtime moves tasks: a timer polled on loop A then on loop B (another
// thread) fires on B, and its entry on A is cancelled through A's handle.
#[test]
fn timer_moves_to_another_loop_and_cancels_the_old_entry() {
    let a = EventLoop::builder().paused_clock().build().unwrap();
    let timer = a
        .run_until_complete(PollOnce(Some(Timer::after(Duration::from_millis(5)))))
        .unwrap();
    assert_eq!(a.pending_timers(), 1);
    let t = std::thread::spawn(move || {
        let b = EventLoop::new().unwrap();
        b.run_until_complete(timer).unwrap();
        b.pending_timers()
    });
    assert_eq!(t.join().unwrap(), 0);
    // A collects the cancellation on its next iteration.
    a.run_until_complete(async {}).unwrap();
    assert_eq!(a.pending_timers(), 0);
}

// A timer with a deadline in the past is ready at once.
#[test]
fn past_deadline_is_ready_immediately() {
    let lp = EventLoop::new().unwrap();
    let past = lp.time();
    assert_eq!(lp.run_until_complete(Timer::at(past)).unwrap(), past);
}

// Timer is Send (tier 4's multi-threaded tasks hold it).
#[test]
fn timer_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Timer>();
}

// A timer polled by one task and then awaited by another (its waker changes) wakes the second.
#[test]
fn timer_wakes_the_latest_waker() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let timer = lp
        .run_until_complete(PollOnce(Some(Timer::after(Duration::from_secs(1)))))
        .unwrap();
    let (r, t) = async_task::spawn_local(timer, lp.handle().scheduler());
    r.schedule();
    let start = lp.time();
    let fired = lp.run_until_complete(t).unwrap();
    assert_eq!(fired - start, Duration::from_secs(1));
    assert_eq!(lp.pending_timers(), 0);
}

// reset_after measures the new delay from the next poll.
#[test]
fn reset_after_measures_from_the_next_poll() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let start = lp.time();
    let fired = lp
        .run_until_complete(async {
            let mut t = Timer::after(Duration::from_secs(100));
            t.reset_after(Duration::from_secs(2));
            t.await
        })
        .unwrap();
    assert_eq!(fired - start, Duration::from_secs(2));
}
