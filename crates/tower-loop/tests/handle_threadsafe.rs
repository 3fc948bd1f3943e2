//! `call_soon_threadsafe` and `LoopHandle::stop` from other threads (test_events
//! test_call_soon_threadsafe, test_run_in_executor-style wake-ups).

use std::sync::mpsc;

use tower_loop::EventLoop;

// test_events.EventLoopTestsMixin.test_call_soon_threadsafe: a loop blocked in the reactor (no
// timers, nothing ready) is woken by a std thread.
#[test]
fn call_soon_threadsafe_wakes_a_loop_blocked_in_the_reactor() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let (tx, rx) = mpsc::channel::<()>();
    // Tell the thread the loop is running; it then schedules the stop. The loop has nothing
    // else to do, so it blocks in the reactor until the wake-up arrives.
    lp.call_soon(move || tx.send(()).unwrap());
    let t = std::thread::spawn(move || {
        rx.recv().unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let h2 = handle.clone();
        handle.call_soon_threadsafe(move || {
            done_tx.send(std::thread::current().id()).unwrap();
            h2.stop();
        });
        done_rx
    });
    lp.run_forever().unwrap();
    let done_rx = t.join().unwrap();
    assert_eq!(done_rx.recv().unwrap(), std::thread::current().id());
}

// A cancelled threadsafe callback never runs.
#[test]
fn cancelled_threadsafe_callback_never_runs() {
    let lp = EventLoop::new().unwrap();
    let (tx, rx) = mpsc::channel::<u32>();
    let tx2 = tx.clone();
    let h = lp.call_soon_threadsafe(move || tx2.send(1).unwrap());
    h.cancel();
    assert!(h.cancelled());
    let handle = lp.handle();
    lp.call_soon_threadsafe(move || {
        tx.send(2).unwrap();
        handle.stop();
    });
    lp.run_forever().unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [2]);
}

// LoopHandle::stop from another thread stops run_forever.
#[test]
fn handle_stop_from_another_thread() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let (tx, rx) = mpsc::channel::<()>();
    lp.call_soon(move || tx.send(()).unwrap());
    let t = std::thread::spawn(move || {
        rx.recv().unwrap();
        handle.stop();
    });
    lp.run_forever().unwrap();
    t.join().unwrap();
}

// Scheduling on a closed loop drops the callback (and the handle says cancelled).
#[test]
fn threadsafe_call_on_closed_loop_is_dropped() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    lp.close().unwrap();
    let h = handle.call_soon_threadsafe(|| unreachable!());
    assert!(h.cancelled());
    assert!(handle.is_closed());
}

// A local task woken from another thread after its loop closed must not be dropped there
// (async-task aborts the process if a `spawn_local` task is dropped off its thread): the
// schedule is absorbed. Without that, this test binary aborts.
#[test]
fn scheduling_a_local_task_of_a_closed_loop_from_another_thread_is_harmless() {
    let lp = EventLoop::new().unwrap();
    let handle = lp.handle();
    let (runnable, task) = async_task::spawn_local(async {}, move |r| handle.schedule(r));
    task.detach();
    lp.close().unwrap();
    std::thread::spawn(move || runnable.schedule())
        .join()
        .unwrap();
}
