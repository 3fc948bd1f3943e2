//! `run(main)`: a fresh loop, main, then leftovers cancelled and drained, loop closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tower_task::{run, sleep, spawn};

// test_runners.py: test_asyncio_run_cancel_hanging_tasks (leftover tasks are cancelled)
#[test]
fn run_cancels_leftover_tasks_and_runs_their_callbacks() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let callback_saw_cancel = Arc::new(AtomicBool::new(false));
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (d, c) = (dropped.clone(), callback_saw_cancel.clone());
    let out = run(async move {
        let d2 = D(d);
        let t = spawn(async move {
            let _d = d2;
            sleep(Duration::from_secs(3600)).await;
        });
        t.add_done_callback(move |t| c.store(t.cancelled(), Ordering::SeqCst));
        drop(t);
        tower_coro::yield_now().await;
        "main done"
    })
    .unwrap();
    assert_eq!(out, "main done");
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(callback_saw_cancel.load(Ordering::SeqCst));
}

// test_runners.py: test_asyncio_run_from_running_loop (run does not nest)
#[test]
fn run_inside_a_running_loop_is_an_error() {
    let inner = run(async { run(async { 1 }).is_err() }).unwrap();
    assert!(inner);
}

// test_runners.py: test_asyncio_run_raises (main's panic propagates after cleanup)
#[test]
fn a_panic_in_main_propagates_after_cleanup() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    struct F(Arc<AtomicBool>);
    impl Drop for F {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(async move {
            let f = F(d);
            spawn(async move {
                let _f = f;
                tower_coro::pending::<()>().await
            })
            .detach();
            tower_coro::yield_now().await;
            panic!("main failed");
        })
    }));
    assert!(r.is_err());
    assert!(dropped.load(Ordering::SeqCst));
}
