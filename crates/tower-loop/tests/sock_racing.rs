//! A `sock_*` operation cancelled while another starts on the same socket: the new one is woken
//! (test_sock_lowlevel.py: test_sock_client_racing — `_basetest_sock_recv_racing`,
//! `_basetest_sock_recv_into_racing`, `_basetest_sock_send_racing`).
//!
//! asyncio's scenario: a task blocked in `sock_recv` is cancelled, and the caller at once starts
//! another `sock_recv` on the same socket — which registers *before* the cancelled task runs its
//! cleanup. The cleanup must remove only the cancelled operation's own registration. Each test
//! runs on virtual time with a one-minute guard: a lost wake-up shows as the guard firing (the
//! loop has nothing left to wait for but the guard's timer), never as a hang.

mod sock_util;

use std::future::Future;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use sock_util::no_fd_leak;
use tower_coro::{Either, select, yield_now};
use tower_loop::{EventLoop, Timer};

/// A loop on virtual time.
fn paused_loop() -> EventLoop {
    EventLoop::builder().paused_clock().build().unwrap()
}

/// `fut`, or `None` if a minute of virtual time passes first. The guard is polled first: when
/// it fires, `fut` is not polled again (a poll would retry the operation and hide a lost
/// wake-up).
async fn guarded<F: Future>(fut: F) -> Option<F::Output> {
    match select(Timer::after(Duration::from_secs(60)), fut).await {
        Either::Left(_) => None,
        Either::Right(v) => Some(v),
    }
}

/// Lets the tasks scheduled so far run until they block (asyncio's `await asyncio.sleep(0)`,
/// made generous: the main future is polled before the ready queue in each iteration).
async fn let_tasks_run() {
    for _ in 0..3 {
        yield_now().await;
    }
}

/// Polls `fut` once, asserting that it is pending (it is blocked on the socket).
async fn poll_pending<F: Future + Unpin>(fut: &mut F) {
    let pending =
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx).is_pending())).await;
    assert!(pending, "the operation should be waiting for the socket");
}

// _basetest_sock_recv_racing: a task blocked in sock_recv is cancelled; the caller starts
// another sock_recv on the socket before the cancelled task has run; data then arrives.
#[test]
fn recv_started_while_a_cancelled_recv_unwinds_is_woken() {
    no_fd_leak(|| {
        let lp = paused_loop();
        let handle = lp.handle();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                let a = std::rc::Rc::new(a);
                let (ra, la) = (a.clone(), l2.clone());
                let first =
                    sock_util::spawn(&handle, async move { la.sock_recv(&*ra, 1024).await });
                let_tasks_run().await;
                assert!(!first.is_finished());
                drop(first); // task.cancel(): its future is dropped when it next runs
                let writer = sock_util::spawn(&handle, async move {
                    (&b).write_all(b"GET / HTTP/1.0\r\n\r\n").map(|()| b)
                });
                let data = guarded(l2.sock_recv(&*a, 1024)).await;
                let _b = writer.await.unwrap();
                data.map(Result::unwrap)
            })
            .unwrap();
        assert_eq!(
            got.as_deref(),
            Some(&b"GET / HTTP/1.0\r\n\r\n"[..]),
            "the new sock_recv was never woken"
        );
        lp.close().unwrap();
    });
}

// _basetest_sock_recv_into_racing: the same with sock_recv_into.
#[test]
fn recv_into_started_while_a_cancelled_recv_into_unwinds_is_woken() {
    no_fd_leak(|| {
        let lp = paused_loop();
        let handle = lp.handle();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                let a = std::rc::Rc::new(a);
                let (ra, la) = (a.clone(), l2.clone());
                let first = sock_util::spawn(&handle, async move {
                    let mut buf = [0u8; 1024];
                    la.sock_recv_into(&*ra, &mut buf).await
                });
                let_tasks_run().await;
                assert!(!first.is_finished());
                drop(first);
                let writer =
                    sock_util::spawn(
                        &handle,
                        async move { (&b).write_all(b"racing").map(|()| b) },
                    );
                let mut buf = [0u8; 1024];
                let n = guarded(l2.sock_recv_into(&*a, &mut buf)).await;
                let _b = writer.await.unwrap();
                n.map(|n| buf[..n.unwrap()].to_vec())
            })
            .unwrap();
        assert_eq!(
            got.as_deref(),
            Some(&b"racing"[..]),
            "the new sock_recv_into was never woken"
        );
        lp.close().unwrap();
    });
}

// _basetest_sock_send_racing: with the send buffer full, a task blocked in sock_sendall is
// cancelled, and another sock_sendall starts at once; a reader then drains the socket. The new
// send completes and the reader sees its bytes (the cancelled one sent nothing: the buffer was
// full).
#[test]
fn sendall_started_while_a_cancelled_sendall_unwinds_is_woken() {
    no_fd_leak(|| {
        let lp = paused_loop();
        let handle = lp.handle();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                b.set_nonblocking(true).unwrap();
                sock_util::fill_send_buffer(&a, b' ');
                let a = std::rc::Rc::new(a);
                let (ra, la) = (a.clone(), l2.clone());
                let first =
                    sock_util::spawn(
                        &handle,
                        async move { la.sock_sendall(&*ra, b"hello").await },
                    );
                let_tasks_run().await;
                assert!(!first.is_finished());
                drop(first);
                let lr = l2.clone();
                let reader = sock_util::spawn(&handle, async move {
                    let mut seen = Vec::new();
                    loop {
                        let chunk = lr.sock_recv(&b, 65536).await.unwrap();
                        if chunk.is_empty() {
                            return seen;
                        }
                        seen.extend(chunk.into_iter().filter(|&c| c != b' '));
                    }
                });
                let sent = guarded(l2.sock_sendall(&*a, b"world")).await;
                match sent {
                    Some(r) => r.unwrap(),
                    None => return None,
                }
                a.shutdown(std::net::Shutdown::Write).unwrap();
                Some(reader.await)
            })
            .unwrap();
        assert_eq!(
            got.as_deref(),
            Some(&b"world"[..]),
            "the new sock_sendall was never woken"
        );
        lp.close().unwrap();
    });
}

// The same race with the cancelled operation a plain future: it is dropped after a task's
// sock_recv on the same socket has started waiting. Dropping it must not unregister the task's.
#[test]
fn dropping_a_waiting_recv_leaves_a_later_one_registered() {
    no_fd_leak(|| {
        let lp = paused_loop();
        let handle = lp.handle();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, mut b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                let a = std::rc::Rc::new(a);
                let mut first = l2.sock_recv(&*a, 16);
                poll_pending(&mut first).await;
                let (ra, la) = (a.clone(), l2.clone());
                let second =
                    sock_util::spawn(
                        &handle,
                        async move { la.sock_recv(&*ra, 16).await.unwrap() },
                    );
                let_tasks_run().await;
                assert!(!second.is_finished());
                drop(first);
                b.write_all(b"second").unwrap();
                guarded(second).await
            })
            .unwrap();
        assert_eq!(got.as_deref(), Some(&b"second"[..]), "second never woken");
        lp.close().unwrap();
    });
}

// Two operations waiting on one socket in the same direction are both served (asyncio allows
// one per direction and leaves the replaced one waiting forever; here each has its own
// registration).
#[test]
fn two_recvs_waiting_on_one_socket_are_both_served() {
    no_fd_leak(|| {
        let lp = paused_loop();
        let handle = lp.handle();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, mut b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                let a = std::rc::Rc::new(a);
                let mut tasks = Vec::new();
                for _ in 0..2 {
                    let (ra, la) = (a.clone(), l2.clone());
                    let t =
                        sock_util::spawn(
                            &handle,
                            async move { la.sock_recv(&*ra, 1).await.unwrap() },
                        );
                    tasks.push(t);
                }
                let_tasks_run().await;
                b.write_all(b"xy").unwrap();
                let mut out = Vec::new();
                for t in tasks {
                    out.extend(guarded(t).await.unwrap_or_default());
                }
                out.sort_unstable();
                out
            })
            .unwrap();
        assert_eq!(got, b"xy", "a waiter was never woken");
        lp.close().unwrap();
    });
}
