//! Ports of CPython test_asyncio/test_base_events.py and test_events.py loop scenarios:
//! call order, cancelled handles, stop, nested runs, close.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tower_loop::EventLoop;
use tower_loop::error::{CloseError, RunError};

type Log = Rc<RefCell<Vec<u32>>>;

fn push(log: &Log, v: u32) -> impl FnOnce() + 'static {
    let log = log.clone();
    move || log.borrow_mut().push(v)
}

// test_base_events.BaseEventLoopTests.test_call_soon / test_events.test_call_soon
#[test]
fn call_soon_runs_in_fifo_order() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    for i in 0..5 {
        lp.call_soon(push(&log, i));
    }
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), [0, 1, 2, 3, 4]);
}

// test_events.test_call_soon (callbacks scheduled during an iteration run in the next one)
#[test]
fn callback_scheduled_by_callback_runs_next_iteration() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    let (l2, log2) = (lp.clone(), log.clone());
    lp.call_soon(move || {
        log2.borrow_mut().push(1);
        l2.call_soon(push(&log2, 3));
    });
    lp.call_soon(push(&log, 2));
    let l3 = lp.clone();
    lp.call_soon(move || l3.stop());
    lp.run_forever().unwrap();
    // Stop in iteration 1 ends the run after that iteration: 3 did not run yet.
    assert_eq!(*log.borrow(), [1, 2]);
    let l4 = lp.clone();
    lp.call_soon(move || l4.stop());
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), [1, 2, 3]);
}

// test_base_events.test__run_once_cancelled_event_cleanup / test_events.test_handle_cancel
#[test]
fn cancelled_handle_never_runs() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    lp.call_soon(push(&log, 1));
    let h = lp.call_soon(push(&log, 2));
    lp.call_soon(push(&log, 3));
    h.cancel();
    assert!(h.cancelled());
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), [1, 3]);
}

// test_events.test_call_later + TimerHandle.cancel
#[test]
fn cancelled_timer_handle_never_runs_and_frees_its_entry() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let log = Log::default();
    let h = lp.call_later(Duration::from_secs(1), push(&log, 1));
    lp.call_later(Duration::from_secs(2), push(&log, 2));
    assert_eq!(lp.pending_timers(), 2);
    h.cancel();
    assert_eq!(lp.pending_timers(), 1);
    let l2 = lp.clone();
    lp.call_later(Duration::from_secs(3), move || l2.stop());
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), [2]);
}

// test_base_events.test_call_later / timers ordering by deadline
#[test]
fn timers_run_in_deadline_order() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let log = Log::default();
    lp.call_later(Duration::from_millis(30), push(&log, 3));
    lp.call_later(Duration::from_millis(10), push(&log, 1));
    lp.call_later(Duration::from_millis(20), push(&log, 2));
    let l2 = lp.clone();
    lp.call_later(Duration::from_millis(40), move || l2.stop());
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), [1, 2, 3]);
}

// test_base_events.test_call_at_same_time (heapq order with equal deadlines)
#[test]
fn equal_deadlines_run_in_scheduling_order() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let log = Log::default();
    let when = lp.time() + Duration::from_millis(5);
    for i in 0..20 {
        lp.call_at(when, push(&log, i));
    }
    let l2 = lp.clone();
    lp.call_at(when, move || l2.stop());
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), (0..20).collect::<Vec<_>>());
}

// test_events.test_run_until_complete_stopped / test_stop: stop inside a callback lets the
// current iteration finish.
#[test]
fn stop_inside_callback_finishes_the_iteration() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    let (l2, log2) = (lp.clone(), log.clone());
    lp.call_soon(move || {
        l2.stop();
        log2.borrow_mut().push(1);
    });
    lp.call_soon(push(&log, 2));
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), [1, 2]);
    assert!(!lp.is_running());
}

// test_base_events.test_run_forever_pre_stopped / test_stop_before_run: one iteration runs.
#[test]
fn stop_before_run_forever_runs_one_iteration() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    let (l2, log2) = (lp.clone(), log.clone());
    lp.call_soon(move || {
        log2.borrow_mut().push(1);
        l2.call_soon(push(&log2, 2));
    });
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), [1]);
}

// test_events.test_run_until_complete
#[test]
fn run_until_complete_returns_the_output() {
    let lp = EventLoop::new().unwrap();
    let local = Rc::new(5); // a !Send future is fine
    let out = lp.run_until_complete(async move { *local * 2 }).unwrap();
    assert_eq!(out, 10);
}

// test_base_events.test_run_until_complete_loop_orphan_future_close_loop: stopped first.
#[test]
fn run_until_complete_reports_stop_before_completion() {
    let lp = EventLoop::new().unwrap();
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    let r = lp.run_until_complete(std::future::pending::<()>());
    assert_eq!(r, Err(RunError::StoppedBeforeComplete));
}

// test_base_events.test_run_forever_nested / test_run_until_complete_nesting
#[test]
fn nested_run_on_the_same_loop_is_an_error() {
    let lp = EventLoop::new().unwrap();
    let l2 = lp.clone();
    let r = lp
        .run_until_complete(async move { l2.run_until_complete(async {}) })
        .unwrap();
    assert_eq!(r, Err(RunError::AlreadyRunning));
}

// test_events.test_run_forever_nested in another loop: "Cannot run the event loop while another
// loop is running".
#[test]
fn running_another_loop_inside_a_running_loop_is_an_error() {
    let lp = EventLoop::new().unwrap();
    let other = EventLoop::new().unwrap();
    let r = lp
        .run_until_complete(async move { other.run_forever() })
        .unwrap();
    assert_eq!(r, Err(RunError::AnotherLoopRunning));
}

// test_base_events.test_close_running_event_loop
#[test]
fn close_while_running_is_an_error() {
    let lp = EventLoop::new().unwrap();
    let l2 = lp.clone();
    let r = lp.run_until_complete(async move { l2.close() }).unwrap();
    assert_eq!(r, Err(CloseError));
    assert!(!lp.is_closed());
}

// test_base_events.test_close / test_run_until_complete on a closed loop
#[test]
fn closed_loop_refuses_to_run() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    assert!(lp.is_closed());
    lp.close().unwrap(); // idempotent
    assert_eq!(lp.run_forever(), Err(RunError::Closed));
}

// test_events.test_is_running
#[test]
fn is_running_inside_and_not_after() {
    let lp = EventLoop::new().unwrap();
    let l2 = lp.clone();
    assert!(
        lp.run_until_complete(async move { l2.is_running() })
            .unwrap()
    );
    assert!(!lp.is_running());
}

// test_events.test_get_running_loop / test_get_event_loop_returns_running_loop
#[test]
fn get_running_loop_is_set_only_while_running() {
    assert!(tower_loop::get_running_loop().is_err());
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let same = lp
        .run_until_complete(async move {
            tower_loop::get_running_loop()
                .unwrap()
                .handle()
                .same_loop(&h)
        })
        .unwrap();
    assert!(same);
    assert!(tower_loop::get_running_loop().is_err());
}

// The main future is a task like the others (asyncio's run_until_complete wraps it in a task
// whose steps `call_soon` schedules): one `yield_now` — asyncio's `await sleep(0)` — lets the
// callbacks scheduled before it run (test_tasks.test_sleep_zero-style ordering).
#[test]
fn one_yield_of_the_main_future_runs_the_callbacks_scheduled_before_it() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    let (l2, log2) = (lp.clone(), log.clone());
    let seen = lp
        .run_until_complete(async move {
            l2.call_soon(push(&log2, 1));
            tower_coro::yield_now().await;
            log2.borrow().clone()
        })
        .unwrap();
    assert_eq!(seen, [1]);
}

// The main future's first step is queued behind what is ready when the run starts (asyncio's
// `ensure_future` schedules the main task's first step with `call_soon`).
#[test]
fn main_future_first_runs_after_the_callbacks_already_scheduled() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    lp.call_soon(push(&log, 1));
    let log2 = log.clone();
    let seen = lp
        .run_until_complete(async move { log2.borrow().clone() })
        .unwrap();
    assert_eq!(seen, [1]);
}

// A task spawned by the main future has run its first step after one yield of the main
// future (it was queued first), as with asyncio's create_task + sleep(0).
#[test]
fn task_spawned_by_the_main_future_runs_within_one_yield() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    let (h, log2) = (lp.handle(), log.clone());
    let seen = lp
        .run_until_complete(async move {
            let l = log2.clone();
            let (r, t) = async_task::spawn_local(
                async move {
                    l.borrow_mut().push(1);
                    tower_coro::yield_now().await;
                    l.borrow_mut().push(2);
                },
                h.scheduler(),
            );
            r.schedule();
            tower_coro::yield_now().await;
            let seen = log2.borrow().clone();
            t.await;
            seen
        })
        .unwrap();
    assert_eq!(seen, [1]);
    assert_eq!(*log.borrow(), [1, 2]);
}

// A waker of the main future kept past its run wakes nothing in a later run: the later run's
// future is polled exactly as often as its own wake-ups ask.
#[test]
fn main_waker_kept_past_its_run_does_not_poll_the_next_runs_future() {
    let lp = EventLoop::new().unwrap();
    let kept = Rc::new(RefCell::new(None::<std::task::Waker>));
    let k = kept.clone();
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
    let r = lp.run_until_complete(std::future::poll_fn(move |cx| {
        *k.borrow_mut() = Some(cx.waker().clone());
        std::task::Poll::<()>::Pending
    }));
    assert_eq!(r, Err(RunError::StoppedBeforeComplete));
    let stale = kept.borrow_mut().take().unwrap();
    let polls = Rc::new(RefCell::new(0));
    let p = polls.clone();
    let mut yielded = false;
    lp.run_until_complete(std::future::poll_fn(move |cx| {
        *p.borrow_mut() += 1;
        stale.wake_by_ref();
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }))
    .unwrap();
    assert_eq!(*polls.borrow(), 2);
}
