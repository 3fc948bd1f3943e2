//! `sleep`/`sleep_until` on the loop's (virtual) clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tower_loop::EventLoop;
use tower_task::{sleep, sleep_until, spawn};

// test_tasks.py: test_sleep (sleepers wake in deadline order, by the loop's clock)
#[test]
fn sleepers_wake_in_deadline_order_on_virtual_time() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let start = lp.time();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    lp.run_until_complete(async move {
        let mut ts = Vec::new();
        for s in [3u64, 1, 2] {
            let l = l.clone();
            ts.push(spawn(async move {
                sleep(Duration::from_secs(s)).await;
                l.lock().unwrap().push(s);
            }));
        }
        for t in ts {
            t.await.unwrap();
        }
    })
    .unwrap();
    assert_eq!(*log.lock().unwrap(), [1, 2, 3]);
    assert_eq!(lp.time() - start, Duration::from_secs(3));
}

// test_tasks.py: test_sleep_zero (sleep(0) yields once to the other tasks)
#[test]
fn sleep_zero_yields_once() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    lp.run_until_complete(async move {
        let l1 = l.clone();
        let a = spawn(async move {
            l1.lock().unwrap().push("a1");
            sleep(Duration::ZERO).await;
            l1.lock().unwrap().push("a2");
        });
        let l2 = l.clone();
        let b = spawn(async move {
            l2.lock().unwrap().push("b1");
        });
        a.await.unwrap();
        b.await.unwrap();
    })
    .unwrap();
    assert_eq!(*log.lock().unwrap(), ["a1", "b1", "a2"]);
}

#[test]
fn sleep_until_a_deadline() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let deadline = lp.time() + Duration::from_millis(1500);
    lp.run_until_complete(sleep_until(deadline)).unwrap();
    assert_eq!(lp.time(), deadline);
}
