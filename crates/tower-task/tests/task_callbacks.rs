//! Done callbacks of tasks.

use std::sync::{Arc, Mutex};

use tower_loop::EventLoop;
use tower_task::spawn;

// test_tasks.py: test_task_done_callbacks / test_add_done_callback (order, scheduled via call_soon)
#[test]
fn done_callbacks_run_in_order_on_the_loop_after_the_task_completes() {
    let lp = EventLoop::new().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    lp.run_until_complete(async move {
        let t = spawn(async { tower_coro::yield_now().await });
        for i in 0..3 {
            let l = l.clone();
            t.add_done_callback(move |task| {
                assert!(task.done());
                l.lock().unwrap().push(i)
            });
        }
        let r = t.task_ref().clone();
        t.await.unwrap();
        assert!(r.done());
        // The awaiter's wake-up was queued after the callbacks (asyncio's `__wakeup` is a done
        // callback added after them): they ran, in order.
        assert_eq!(*l.lock().unwrap(), [0, 1, 2]);
        // A callback added to a done task is scheduled, not run inline.
        let l2 = l.clone();
        r.add_done_callback(move |_| l2.lock().unwrap().push(3));
        assert_eq!(*l.lock().unwrap(), [0, 1, 2]);
        tower_coro::yield_now().await;
    })
    .unwrap();
    assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3]);
}

// test_tasks.py: test_cancel (callbacks see a cancelled task)
#[test]
fn done_callbacks_run_for_a_cancelled_task() {
    let lp = EventLoop::new().unwrap();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    lp.run_until_complete(async move {
        let t = spawn(tower_coro::pending::<()>());
        t.add_done_callback(move |task| *s.lock().unwrap() = Some(task.cancelled()));
        t.cancel();
        let _ = t.await;
        tower_coro::yield_now().await;
    })
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(true));
}

// test_futures.py: test_schedule_callbacks_early on a task (callback added after done)
#[test]
fn a_callback_added_after_done_is_scheduled_not_inline() {
    let lp = EventLoop::new().unwrap();
    let log = Arc::new(Mutex::new(0));
    let l = log.clone();
    lp.run_until_complete(async move {
        let t = spawn(async {});
        let r = t.task_ref().clone();
        t.await.unwrap();
        let l2 = l.clone();
        r.add_done_callback(move |_| *l2.lock().unwrap() += 1);
        assert_eq!(*l.lock().unwrap(), 0);
        tower_coro::yield_now().await;
    })
    .unwrap();
    assert_eq!(*log.lock().unwrap(), 1);
}
