//! One FIFO: `call_soon_threadsafe`, `call_soon` and task wake-ups run in the order they were
//! made, whichever thread made them. asyncio's `call_soon_threadsafe` appends to the same
//! `_ready` deque as `call_soon` (base_events.py), so test_events'
//! `test_call_soon_threadsafe_same_thread` and `test_call_soon` together imply this order.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex, mpsc};

use tower_loop::EventLoop;

type Log = Arc<Mutex<Vec<u32>>>;

fn push(log: &Log, v: u32) -> impl FnOnce() + Send + 'static {
    let log = log.clone();
    move || log.lock().unwrap().push(v)
}

fn stop_after(lp: &EventLoop) {
    let l2 = lp.clone();
    lp.call_soon(move || l2.stop());
}

// Scheduled from the loop's own thread, inside a callback: threadsafe and local callbacks
// interleave in scheduling order (the tower used to run the local ones first).
#[test]
fn threadsafe_and_local_callbacks_from_the_loop_thread_keep_their_order() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    let (l2, log2) = (lp.clone(), log.clone());
    lp.call_soon(move || {
        l2.call_soon_threadsafe(push(&log2, 1));
        l2.call_soon(push(&log2, 2));
        l2.call_soon_threadsafe(push(&log2, 3));
        l2.call_soon(push(&log2, 4));
        let l3 = l2.clone();
        l2.call_soon(move || l3.stop());
    });
    lp.run_forever().unwrap();
    assert_eq!(*log.lock().unwrap(), [1, 2, 3, 4]);
}

// Scheduled before the loop runs: the same order.
#[test]
fn threadsafe_and_local_callbacks_before_the_run_keep_their_order() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    lp.call_soon_threadsafe(push(&log, 1));
    lp.call_soon(push(&log, 2));
    lp.call_soon_threadsafe(push(&log, 3));
    stop_after(&lp);
    lp.run_forever().unwrap();
    assert_eq!(*log.lock().unwrap(), [1, 2, 3]);
}

// From another thread: a callback it scheduled while the loop ran a callback, before telling
// the loop thread (a channel, so "before" is a real happens-before), runs before the callback
// the loop thread then schedules with `call_soon`.
#[test]
fn threadsafe_callback_from_another_thread_runs_before_a_later_local_one() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (handle, log2) = (lp.handle(), log.clone());
    let t = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        handle.call_soon_threadsafe(push(&log2, 1));
        done_tx.send(()).unwrap();
    });
    let (l2, log3) = (lp.clone(), log.clone());
    lp.call_soon(move || {
        // The loop is inside an iteration's batch; the other thread schedules now, and the
        // loop thread waits for it on an explicit event (not a sleep).
        go_tx.send(()).unwrap();
        done_rx.recv().unwrap();
        l2.call_soon(push(&log3, 2));
        let l3 = l2.clone();
        l2.call_soon(move || l3.stop());
    });
    lp.run_forever().unwrap();
    t.join().unwrap();
    assert_eq!(*log.lock().unwrap(), [1, 2]);
}

// A task woken on the loop's thread after a threadsafe callback was scheduled runs after it
// (a task's wake-up is asyncio's `call_soon(task.__step)`).
#[test]
fn local_task_wake_queues_behind_an_earlier_threadsafe_callback() {
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l2, log2) = (lp.clone(), log.clone());
    lp.call_soon(move || {
        let l = log2.clone();
        let (tx, rx) = mpsc::channel();
        l2.call_soon_threadsafe(move || tx.send("threadsafe").unwrap());
        let (r, t) = async_task::spawn_local(
            async move {
                let got = rx.try_recv().ok();
                l.borrow_mut().push(got);
            },
            l2.handle().scheduler(),
        );
        r.schedule();
        t.detach();
        let l3 = l2.clone();
        l2.call_soon(move || l3.stop());
    });
    lp.run_forever().unwrap();
    // The task ran after the threadsafe callback: it found the message.
    assert_eq!(*log.borrow(), [Some("threadsafe")]);
}

// `LoopHandle::stop` is asyncio's `call_soon_threadsafe(loop.stop)`: it takes effect in its
// turn, so a callback queued after it still runs in the iteration that stops, and what that
// callback schedules runs in the next run.
#[test]
fn handle_stop_takes_its_turn_in_the_fifo() {
    let lp = EventLoop::new().unwrap();
    let log = Log::default();
    let (l2, log2) = (lp.clone(), log.clone());
    lp.call_soon(move || {
        log2.lock().unwrap().push(1);
        l2.handle().stop();
        let (l3, log3) = (l2.clone(), log2.clone());
        l2.call_soon(move || {
            log3.lock().unwrap().push(2);
            l3.call_soon(push(&log3, 3));
        });
    });
    lp.run_forever().unwrap();
    assert_eq!(*log.lock().unwrap(), [1, 2]);
    stop_after(&lp);
    lp.run_forever().unwrap();
    assert_eq!(*log.lock().unwrap(), [1, 2, 3]);
}
