//! The `sock_*` methods on the reactor's edge-triggered registrations: readiness is cached per
//! fd, a short read uses it up, and a registration trusted without a syscall is confirmed before
//! a waiter could be stranded (a closed fd number reused by a new socket).
//!
//! asyncio has no direct tests of these (its selector re-registers per operation); they guard
//! tower's bookkeeping: no readiness lost, no wait on a registration the kernel dropped.

mod sock_util;

use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use sock_util::no_fd_leak;
use tower_coro::{Either, select};
use tower_loop::{EventLoop, Timer};

/// A connected non-blocking pair.
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Polls `fut` once.
async fn poll_once<F: std::future::Future>(
    fut: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    let mut fut = Some(fut);
    std::future::poll_fn(|cx| std::task::Poll::Ready(fut.take().unwrap().poll(cx))).await
}

/// `fut`, or `None` if 60 (virtual) seconds pass first.
async fn within_a_minute<F: std::future::Future>(fut: F) -> Option<F::Output> {
    match select(Timer::after(Duration::from_secs(60)), fut).await {
        Either::Left(_) => None,
        Either::Right(r) => Some(r),
    }
}

// A read that fills the buffer leaves the fd readable: the rest is read without a new edge (an
// edge-triggered registration reports no second one for bytes already there).
#[test]
fn a_full_read_keeps_the_rest_readable() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = pair();
                let mut buf = [0u8; 16];
                // Registered first, so that the 32 bytes arrive as one edge.
                let mut first = Box::pin(l2.sock_recv_into(&a, &mut buf));
                assert!(poll_once(first.as_mut()).await.is_pending());
                (&b).write_all(&[7u8; 32]).unwrap();
                let n1 = first.await.unwrap();
                let mut buf = [0u8; 16];
                let n2 = within_a_minute(l2.sock_recv_into(&a, &mut buf)).await;
                (n1, n2.map(Result::unwrap))
            })
            .unwrap();
        assert_eq!(got, (16, Some(16)));
        lp.close().unwrap();
    });
}

// A short read uses the readiness up; bytes that arrive after it are a new edge, and the next
// read gets them.
#[test]
fn after_a_short_read_the_next_bytes_are_read() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = pair();
                let mut buf = [0u8; 16];
                let mut first = Box::pin(l2.sock_recv_into(&a, &mut buf));
                assert!(poll_once(first.as_mut()).await.is_pending());
                (&b).write_all(b"abc").unwrap();
                let n1 = first.await.unwrap();
                // Written before the next read starts: an edge the loop has not collected yet.
                (&b).write_all(b"defgh").unwrap();
                let mut buf2 = [0u8; 16];
                let n2 = within_a_minute(l2.sock_recv_into(&a, &mut buf2))
                    .await
                    .map(Result::unwrap);
                // And written while the read waits.
                let mut buf3 = [0u8; 16];
                let mut third = Box::pin(l2.sock_recv_into(&a, &mut buf3));
                assert!(poll_once(third.as_mut()).await.is_pending());
                (&b).write_all(b"ij").unwrap();
                let n3 = within_a_minute(third).await.map(Result::unwrap);
                (n1, n2, n3)
            })
            .unwrap();
        assert_eq!(got, (3, Some(5), Some(2)));
        lp.close().unwrap();
    });
}

// End of stream is not "used up": every read after it returns 0 at once (asyncio's sock_recv
// returns b"" again).
#[test]
fn end_of_stream_stays_readable() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = pair();
                let mut buf = [0u8; 16];
                let mut first = Box::pin(l2.sock_recv_into(&a, &mut buf));
                assert!(poll_once(first.as_mut()).await.is_pending());
                drop(b);
                let n1 = first.await.unwrap();
                let n2 = within_a_minute(l2.sock_recv(&a, 16))
                    .await
                    .map(|r| r.unwrap().len());
                let n3 = within_a_minute(l2.sock_recv(&a, 16))
                    .await
                    .map(|r| r.unwrap().len());
                (n1, n2, n3)
            })
            .unwrap();
        assert_eq!(got, (0, Some(0), Some(0)));
        lp.close().unwrap();
    });
}

/// Closes `old` and puts a new socket (`new`'s file) at its fd number; returns it.
fn reuse_number(old: UnixStream, new: UnixStream) -> OwnedFd {
    let number = old.as_raw_fd();
    drop(old);
    // The number is free now: the lowest free number from it on is itself.
    let placed = rustix::io::fcntl_dupfd_cloexec(&new, number).unwrap();
    assert_eq!(
        placed.as_raw_fd(),
        number,
        "the freed number is the lowest free one"
    );
    drop(new);
    placed
}

// A socket used with sock_* is closed and its number reused by a new socket (asyncio allows
// closing a socket between operations). The loop's registration of that number died with the
// old socket; a wait on the new one must still be woken.
#[test]
fn a_reused_fd_number_is_registered_again() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = pair();
                // Register the number, and use its readiness up.
                let mut buf = [0u8; 16];
                let mut first = Box::pin(l2.sock_recv_into(&a, &mut buf));
                assert!(poll_once(first.as_mut()).await.is_pending());
                (&b).write_all(b"x").unwrap();
                assert_eq!(first.await.unwrap(), 1);
                drop(b);
                let (c, d) = pair();
                let c = reuse_number(a, c);
                let mut buf = [0u8; 16];
                let mut recv = Box::pin(l2.sock_recv_into(&c, &mut buf));
                assert!(poll_once(recv.as_mut()).await.is_pending());
                (&d).write_all(b"new").unwrap();
                within_a_minute(recv).await.map(Result::unwrap)
            })
            .unwrap();
        assert_eq!(got, Some(3));
        lp.close().unwrap();
    });
}

// The same while the loop never runs out of work (a task yields all the time): the wait is
// confirmed after a few polls, not only when the loop would block.
#[test]
fn a_reused_fd_number_is_registered_again_on_a_busy_loop() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let l2 = lp.clone();
        let handle = lp.handle();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = pair();
                let mut buf = [0u8; 16];
                let mut first = Box::pin(l2.sock_recv_into(&a, &mut buf));
                assert!(poll_once(first.as_mut()).await.is_pending());
                (&b).write_all(b"x").unwrap();
                assert_eq!(first.await.unwrap(), 1);
                drop(b);
                let (c, d) = pair();
                let c = reuse_number(a, c);
                let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let d2 = done.clone();
                let busy = sock_util::spawn(&handle, async move {
                    let mut spins = 0u64;
                    while !d2.load(std::sync::atomic::Ordering::Relaxed) {
                        tower_coro::yield_now().await;
                        spins += 1;
                        assert!(spins < 10_000_000, "the read was never woken");
                    }
                });
                let mut buf = [0u8; 16];
                let mut recv = Box::pin(l2.sock_recv_into(&c, &mut buf));
                assert!(poll_once(recv.as_mut()).await.is_pending());
                (&d).write_all(b"new").unwrap();
                let n = recv.await.unwrap();
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                busy.await;
                n
            })
            .unwrap();
        assert_eq!(got, 3);
        lp.close().unwrap();
    });
}

// The same on a loop whose every poll brings an event (so it never confirms everything before
// blocking: waits are confirmed by age only), after a wait trusted without a syscall was
// served: the fd is still queued for confirmation from that wait when the number is reused,
// and the new socket's waiter, younger than the queued item, is confirmed once it is old
// enough (the item is queued again meanwhile), not stranded.
#[test]
fn a_reused_fd_number_is_registered_again_when_every_poll_brings_events() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let l2 = lp.clone();
        let handle = lp.handle();
        let got = lp
            .run_until_complete(async move {
                // A ping on a pair of its own before every poll: each poll brings its event.
                let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let d2 = done.clone();
                let l3 = l2.clone();
                let (p1, p2) = pair();
                let pinger = sock_util::spawn(&handle, async move {
                    let mut buf = [0u8; 16];
                    let mut pings = 0u64;
                    while !d2.load(std::sync::atomic::Ordering::Relaxed) {
                        // Wait first, then ping: each read is woken by a poll's event.
                        let mut read = Box::pin(l3.sock_recv_into(&p2, &mut buf));
                        assert!(poll_once(read.as_mut()).await.is_pending());
                        (&p1).write_all(b"p").unwrap();
                        assert_eq!(read.await.unwrap(), 1);
                        pings += 1;
                        assert!(pings < 10_000_000, "the read was never woken");
                    }
                });
                tower_coro::yield_now().await;
                let (a, b) = pair();
                let mut buf = [0u8; 16];
                // The first wait registers the number (one epoll_ctl): confirmed.
                let mut first = Box::pin(l2.sock_recv_into(&a, &mut buf));
                assert!(poll_once(first.as_mut()).await.is_pending());
                (&b).write_all(b"x").unwrap();
                assert_eq!(first.await.unwrap(), 1);
                // The second is trusted (no syscall), queued for confirmation, and served.
                let mut second = Box::pin(l2.sock_recv_into(&a, &mut buf));
                assert!(poll_once(second.as_mut()).await.is_pending());
                (&b).write_all(b"y").unwrap();
                assert_eq!(second.await.unwrap(), 1);
                drop(b);
                // A few polls later, the number names another socket, whose waiter is younger
                // than the queued item.
                for _ in 0..3 {
                    Timer::after(Duration::ZERO).await;
                }
                let (c, d) = pair();
                let c = reuse_number(a, c);
                let mut buf = [0u8; 16];
                let mut recv = Box::pin(l2.sock_recv_into(&c, &mut buf));
                assert!(poll_once(recv.as_mut()).await.is_pending());
                (&d).write_all(b"new").unwrap();
                let n = recv.await.unwrap();
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                pinger.await;
                n
            })
            .unwrap();
        assert_eq!(got, 3);
        lp.close().unwrap();
    });
}

// A fd whose number is closed (its file kept open elsewhere) while a read waits on the
// trusted registration: confirming it fails (EBADF), and the waiter is woken with the error
// instead of waiting forever.
#[test]
fn a_wait_whose_confirmation_fails_is_woken_with_the_error() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        let got = lp
            .run_until_complete(async move {
                let (a, b) = pair();
                let mut buf = [0u8; 16];
                let mut first = Box::pin(l2.sock_recv_into(&a, &mut buf));
                assert!(poll_once(first.as_mut()).await.is_pending());
                (&b).write_all(b"x").unwrap();
                assert_eq!(first.await.unwrap(), 1);
                let keep = a.try_clone().unwrap();
                let fd = a.as_raw_fd();
                // SAFETY: the number is used while `keep` holds the file; once `a` is dropped
                // the number is closed (EBADF), which is the point, and nothing in this test
                // opens an fd that could take it.
                let raw = unsafe { BorrowedFd::borrow_raw(fd) };
                let mut buf = [0u8; 16];
                let mut recv = Box::pin(l2.sock_recv_into(raw, &mut buf));
                assert!(poll_once(recv.as_mut()).await.is_pending());
                drop(a);
                let r = within_a_minute(recv).await;
                drop((keep, b));
                r.map(|r| r.map_err(|e| e.raw_os_error()))
            })
            .unwrap();
        assert_eq!(
            got.expect("the read was never woken"),
            Err(Some(rustix::io::Errno::BADF.raw_os_error()))
        );
        lp.close().unwrap();
    });
}
