//! `tower_asyncio::run` tears down as `asyncio.run` does (test_runners: `test_asyncio_run_*`,
//! and `shutdown_default_executor` being awaited before the loop closes).

use std::time::Duration;

#[test]
fn run_cancels_tasks_left_running_when_main_returns() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    tower_asyncio::run(async move {
        tower_asyncio::spawn(async move {
            let _guard = SetOnDrop(flag);
            tower_asyncio::sleep(Duration::from_secs(3600)).await;
        })
        .detach();
        tower_asyncio::sleep(Duration::from_millis(1)).await;
    })
    .expect("run");
    assert!(
        dropped.load(Ordering::SeqCst),
        "the leftover task was cancelled"
    );
}

#[test]
fn run_inside_a_running_loop_is_an_error() {
    let nested = tower_asyncio::run(async { tower_asyncio::run(async {}).is_err() }).expect("run");
    assert!(
        nested,
        "a nested run must fail, as asyncio.run does in a running loop"
    );
}
