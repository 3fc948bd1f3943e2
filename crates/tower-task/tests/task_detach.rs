//! Dropping a `Task` detaches it; no leaks when the loop closes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tower_loop::EventLoop;
use tower_task::{sleep, spawn};

/// Counts live instances.
struct Live(Arc<AtomicUsize>);
impl Live {
    fn new(c: &Arc<AtomicUsize>) -> Live {
        c.fetch_add(1, Ordering::SeqCst);
        Live(c.clone())
    }
}
impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

// test_tasks.py: test_task_ref_dropped... (asyncio keeps a task running after its handle goes)
#[test]
fn dropping_the_handle_detaches_the_task_which_keeps_running() {
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    lp.run_until_complete(async move {
        drop(spawn(async move {
            sleep(std::time::Duration::from_secs(1)).await;
            d.store(true, Ordering::SeqCst);
        }));
        sleep(std::time::Duration::from_secs(2)).await;
    })
    .unwrap();
    assert!(done.load(Ordering::SeqCst));
}

// test_tasks.py / test_base_events.py: pending tasks left on a closed loop are destroyed
#[test]
fn pending_tasks_left_on_a_closed_loop_are_dropped() {
    let live = Arc::new(AtomicUsize::new(0));
    let lp = EventLoop::new().unwrap();
    let l = live.clone();
    let kept = lp
        .run_until_complete(async move {
            // Polled and suspended forever: no waker of it exists, only the reference its
            // loop's registry holds (without it, async-task would free the task and leak the
            // future right after this poll).
            let a = Live::new(&l);
            spawn(async move {
                let _a = a;
                tower_coro::pending::<()>().await
            })
            .detach();
            // Waiting on a timer.
            let c = Live::new(&l);
            let on_timer = spawn(async move {
                let _c = c;
                sleep(std::time::Duration::from_secs(3600)).await
            });
            tower_coro::yield_now().await;
            drop(on_timer);
            // Never polled (still queued when the loop stops); its handle outlives the loop.
            let b = Live::new(&l);
            Some(spawn(async move {
                let _b = b;
            }))
        })
        .unwrap();
    assert_eq!(
        live.load(Ordering::SeqCst),
        3,
        "all three futures are alive"
    );
    lp.close().unwrap();
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "every task's future is dropped on close"
    );
    let kept = kept.unwrap();
    assert!(kept.done() && kept.cancelled());
    let lp2 = EventLoop::new().unwrap();
    let r = lp2.run_until_complete(kept).unwrap();
    assert!(r.unwrap_err().is_cancelled());
}

// Dropping the loop without close frees the tasks too.
#[test]
fn dropping_the_loop_drops_its_pending_tasks() {
    let live = Arc::new(AtomicUsize::new(0));
    let l = live.clone();
    {
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(async move {
            for _ in 0..10 {
                let x = Live::new(&l);
                spawn(async move {
                    let _x = x;
                    tower_coro::pending::<()>().await
                })
                .detach();
            }
            tower_coro::yield_now().await;
        })
        .unwrap();
        assert_eq!(live.load(Ordering::SeqCst), 10);
    }
    assert_eq!(live.load(Ordering::SeqCst), 0);
}
