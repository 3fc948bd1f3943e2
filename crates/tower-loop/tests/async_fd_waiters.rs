//! The waiters of an [`Async`]: a cancelled wait does not take another task's wake-up (the
//! `Send` path's counterpart of test_sock_lowlevel.py's test_sock_client_racing), and a task
//! whose wait future is polled once and dropped (a poll-style caller) is still woken.
//! Loom-checked in `loom_waiters.rs`.

mod sock_util;

use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use sock_util::no_fd_leak;
use tower_coro::{Either, select, yield_now};
use tower_loop::{Async, EventLoop, Timer};

// Two tasks wait for readability; the one that registered first is cancelled after the second
// registered; data arrives: the second wakes (a minute of virtual time is the guard).
#[test]
fn cancelled_readable_leaves_another_tasks_wait_in_place() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let handle = lp.handle();
        let woke = lp
            .run_until_complete(async move {
                let (a, mut b) = UnixStream::pair().unwrap();
                let a = std::rc::Rc::new(Async::new(a).unwrap());
                let mut tasks = Vec::new();
                for _ in 0..2 {
                    let a = a.clone();
                    let (r, t) = async_task::spawn_local(
                        async move {
                            let mut buf = [0u8; 8];
                            a.read_with(|mut s| s.read(&mut buf)).await.unwrap()
                        },
                        handle.scheduler(),
                    );
                    r.schedule();
                    tasks.push(t);
                }
                for _ in 0..3 {
                    yield_now().await;
                }
                let second = tasks.pop().unwrap();
                drop(tasks); // cancels the first task; its wait is dropped when it next runs
                for _ in 0..3 {
                    yield_now().await;
                }
                b.write_all(b"data").unwrap();
                match select(Timer::after(Duration::from_secs(60)), second).await {
                    Either::Left(_) => None,
                    Either::Right(n) => Some(n),
                }
            })
            .unwrap();
        assert_eq!(woke, Some(4), "the remaining task was never woken");
        lp.close().unwrap();
    });
}

// A readable() future dropped before the event, then a new one: the new one resolves.
#[test]
fn dropped_readable_then_a_new_one_resolves() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        lp.run_until_complete(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let a = Async::new(a).unwrap();
            let first = a.readable();
            let r = select(first, yield_now()).await;
            assert!(matches!(r, Either::Right(())), "nothing to read yet");
            b.write_all(b"x").unwrap();
            a.readable().await.unwrap();
        })
        .unwrap();
        lp.close().unwrap();
    });
}

// A poll-style caller (tower-exec's pipes and pidfds): each poll makes a read_with future, polls
// it once and drops it. Its task must be woken when data arrives.
#[test]
fn read_with_polled_once_and_dropped_still_wakes_its_task() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, mut b) = UnixStream::pair().unwrap();
                let a = Async::new(a).unwrap();
                l2.call_soon(move || b.write_all(b"late").unwrap());
                let mut buf = [0u8; 8];
                let poll_style = std::future::poll_fn(|cx| {
                    let fut = a.read_with(|mut s| s.read(&mut buf));
                    match pin!(fut).poll(cx) {
                        Poll::Ready(r) => Poll::Ready(r.unwrap()),
                        Poll::Pending => Poll::Pending,
                    }
                });
                match select(Timer::after(Duration::from_secs(60)), poll_style).await {
                    Either::Left(_) => None,
                    Either::Right(n) => Some(n),
                }
            })
            .unwrap();
        assert_eq!(got, Some(4), "the poll-style reader was never woken");
        lp.close().unwrap();
    });
}
