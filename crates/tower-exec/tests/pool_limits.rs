//! The pool never runs more threads than its maximum; extra jobs wait in the queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use tower_exec::{ThreadPool, run_in_executor};

/// The workspace's child check and its bounded wait, one file with tower-loop's tests.
#[path = "../../tower-loop/tests/sock_util/child_leak.rs"]
mod child_leak;
use child_leak::wait_until;

// Ports test_base_events.py's use of `ThreadPoolExecutor(max_workers=...)`: with max 2, two
// closures run at once and the rest queue until one returns.
#[test]
fn max_threads_is_respected() {
    let pool = ThreadPool::builder().max_threads(2).build();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
    let futs: Vec<_> = (0..6)
        .map(|_| {
            let running = running.clone();
            let peak = peak.clone();
            let release_rx = release_rx.clone();
            run_in_executor(&pool, move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                release_rx.lock().unwrap().recv().unwrap();
                running.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    assert!(wait_until(|| running.load(Ordering::SeqCst) == 2));
    assert_eq!(pool.thread_count(), 2);
    assert_eq!(pool.queued(), 4);
    for _ in 0..6 {
        release_tx.send(()).unwrap();
    }
    tower_coro::block_on(tower_coro::try_join_all(futs)).unwrap();
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    pool.shutdown(Duration::from_secs(10)).unwrap();
}
