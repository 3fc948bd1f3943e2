//! A closed loop's fds are closed when the loop is dropped, whatever its host resolutions on
//! the blocking pool are doing: resolution (`getaddrinfo`, resolve.rs) hands the pool a
//! closure and the awaiting task's waker, which holds the loop's handle; the pool thread must
//! not be the one that lets go of it last (docs/decisions/0004-blocking-pool-and-child-reaping.md).
//! Each check counts fds at once, with no settling wait.

mod connect_util;

use std::sync::mpsc;

use connect_util::{fd_count, no_fd_leak};
use tower_loop::EventLoop;
use tower_protocol::{Family, getaddrinfo};

// asyncio's `loop.close()` shuts the default executor down without waiting: a resolution
// still running is left to finish and its result discarded. Here the "resolution" is blocked
// until the loop is closed and dropped: the fds are back before it is released.
#[test]
fn a_resolution_still_running_keeps_no_fd_of_a_closed_loop() {
    no_fd_leak(|| {
        let before = fd_count();
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (finished_tx, finished_rx) = mpsc::channel();
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(async move {
            // What `getaddrinfo` does for a name: the system resolver on the blocking pool.
            let _detached = tower_task::spawn(tower_exec::to_thread(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                finished_tx.send(()).unwrap();
                vec!["127.0.0.1:80".parse::<std::net::SocketAddr>().unwrap()]
            }));
            tower_task::sleep(std::time::Duration::ZERO).await;
        })
        .unwrap();
        started_rx.recv().unwrap();
        lp.close().unwrap();
        drop(lp);
        assert_eq!(fd_count(), before, "the closed loop's fds are still open");
        release_tx.send(()).unwrap();
        finished_rx.recv().unwrap();
    });
}

// A resolution that completed: the pool thread's wake-up of the awaiting task is over by the
// time the task has the result, so the loop closed and dropped right after leaves no fd to
// the pool thread (it did ~1 run in 6 of the stream tests: the pool thread dropped the waker,
// the loop's last handle, after the loop was dropped).
#[test]
fn a_finished_resolution_keeps_no_fd_of_a_closed_loop() {
    no_fd_leak(|| {
        for _ in 0..50 {
            let before = fd_count();
            let lp = EventLoop::new().unwrap();
            let addrs = lp
                .run_until_complete(async {
                    tower_task::spawn(getaddrinfo("localhost", 80, Family::Any))
                        .await
                        .unwrap()
                })
                .unwrap();
            assert!(!addrs.unwrap().is_empty());
            lp.close().unwrap();
            drop(lp);
            assert_eq!(fd_count(), before, "the closed loop's fds are still open");
        }
    });
}
