//! No fd or thread leak: open and close 100 loops (test_base_events' close tests, at scale).

use std::time::Duration;

use tower_loop::{EventLoop, Timer};

/// The workspace's fd-leak check (its fd and thread counts).
#[path = "sock_util/fd_leak.rs"]
mod fd_leak;
use fd_leak::{fd_count, thread_count};

#[test]
fn hundred_loops_leak_no_fd_and_no_thread() {
    // Warm up once (lazy statics), then measure.
    let warm = EventLoop::new().unwrap();
    warm.close().unwrap();
    drop(warm);
    let fds = fd_count();
    let threads = thread_count();
    for _ in 0..100 {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        lp.call_later(Duration::from_secs(1), move || drop(l2)); // a cycle broken by close
        let handle = lp.handle();
        lp.run_until_complete(async move {
            let (r, t) =
                async_task::spawn(Timer::after(Duration::from_millis(1)), handle.scheduler());
            r.schedule();
            t.await;
        })
        .unwrap();
        lp.close().unwrap();
    }
    assert_eq!(fd_count(), fds);
    assert_eq!(thread_count(), threads);
}
