//! The reactor does not swallow the poller's errors.
//!
//! - A failing `epoll_wait` comes out of `run_until_complete`/`run_forever` as
//!   [`RunError::Poller`] (asyncio: an `OSError` of `selector.select()` propagates out of
//!   `_run_once`, hence out of `run_forever`/`run_until_complete`; test_base_events has no
//!   direct port, asyncio never catches it).
//! - A failing re-arm after an event wakes the `sock_*` waiter it was for, which then reports
//!   the error, instead of waiting forever.
//!
//! The poller is broken for real: the loop's epoll fd number is made to point at `/dev/null`
//! (`dup2`), so the kernel refuses `epoll_wait`/`epoll_ctl` on it with `EINVAL`.

mod sock_util;

use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use sock_util::no_fd_leak;
use tower_coro::{Either, select};
use tower_loop::error::RunError;
use tower_loop::{EventLoop, Timer};

/// The epoll fds of this process.
fn epoll_fds() -> Vec<RawFd> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().contains("[eventpoll]"))
        })
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// A loop on virtual time whose poller is broken: its epoll fd number now names `/dev/null`.
fn loop_with_broken_poller() -> EventLoop {
    let before = epoll_fds();
    let lp = EventLoop::builder().paused_clock().build().unwrap();
    let ours: Vec<RawFd> = epoll_fds()
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .collect();
    assert_eq!(ours.len(), 1, "the new loop's epoll fd");
    let null = std::fs::File::open("/dev/null").unwrap();
    // SAFETY: `ours[0]` is open (the loop's poller owns it); the `OwnedFd` is never dropped
    // (`ManuallyDrop`), so the poller stays its only owner and closes it (now `/dev/null`).
    let mut target = ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(ours[0]) });
    rustix::io::dup2(&null, &mut target).unwrap();
    lp
}

// A failing epoll_wait ends run_until_complete with the poller's error, not a silent "no
// events" (which, on virtual time, would have let the timer fire and the run succeed).
#[test]
fn run_until_complete_returns_the_pollers_error() {
    no_fd_leak(|| {
        let lp = loop_with_broken_poller();
        let r = lp.run_until_complete(Timer::after(Duration::from_secs(1)));
        match r {
            Err(RunError::Poller(e)) => {
                assert_eq!(
                    e.raw_os_error(),
                    Some(rustix::io::Errno::INVAL.raw_os_error())
                );
                let io: std::io::Error = e.into();
                assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
            }
            other => panic!("expected the poller's error, got {other:?}"),
        }
        // The error was reported once; the loop is still usable (and fails again).
        assert!(!lp.is_running());
        assert!(matches!(
            lp.run_until_complete(Timer::after(Duration::from_secs(1))),
            Err(RunError::Poller(_))
        ));
        lp.close().unwrap();
    });
}

// The same through run_forever.
#[test]
fn run_forever_returns_the_pollers_error() {
    no_fd_leak(|| {
        let lp = loop_with_broken_poller();
        let l2 = lp.clone();
        lp.call_later(Duration::from_secs(1), move || l2.stop());
        let r = lp.run_forever();
        assert!(
            matches!(r, Err(RunError::Poller(_))),
            "expected the poller's error, got {r:?}"
        );
        lp.close().unwrap();
    });
}

// A socket closed (by number) while a sock_recv and a sock_sendall wait on it, its file kept
// open by a dup: the read event still arrives, and re-arming the fd for the waiting send then
// fails (EBADF). The send must be woken and report an error, not wait forever.
#[test]
fn a_waiter_whose_rearm_fails_is_woken_with_an_error() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let l2 = lp.clone();
        let res = lp
            .run_until_complete(async move {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                sock_util::fill_send_buffer(&a, 0); // so that a send waits
                let keep = a.try_clone().unwrap(); // keeps the file (and its epoll entry) open
                let fd = a.as_raw_fd();
                // SAFETY: the futures use the number only while the test keeps `a`'s file open
                // through `keep`; after `a` is dropped the number is closed (EBADF), which is the
                // point, and nothing else in this test opens an fd that could reuse it.
                let raw = unsafe { BorrowedFd::borrow_raw(fd) };
                let mut buf = [0u8; 16];
                let mut recv = Box::pin(l2.sock_recv_into(raw, &mut buf));
                let mut send = Box::pin(l2.sock_sendall(raw, b"more"));
                assert!(futures_poll(recv.as_mut()).await.is_pending());
                assert!(futures_poll(send.as_mut()).await.is_pending());
                drop(a); // the number is closed; the epoll entry lives on through `keep`
                (&b).write_all(b"x").unwrap(); // a read event for the closed number
                let recv = recv.await;
                let send = match select(Timer::after(Duration::from_secs(60)), send).await {
                    Either::Left(_) => None,
                    Either::Right(r) => Some(r),
                };
                drop((keep, b));
                (recv.map(|_| ()), send)
            })
            .unwrap();
        let (recv, send) = res;
        assert_eq!(
            recv.unwrap_err().raw_os_error(),
            Some(rustix::io::Errno::BADF.raw_os_error())
        );
        let send = send.expect("the waiting send was never woken");
        assert!(send.is_err(), "the send on a closed fd cannot succeed");
        lp.close().unwrap();
    });
}

// A socket with a reader callback (level-triggered) and a sock_sendall waiting on it is
// closed by number, its file kept open by a dup; the peer drains it: the write event arrives,
// and dropping the served direction from the registration then fails (EBADF). That failure is
// reported to the loop's exception handler, not swallowed.
#[test]
fn a_failed_update_of_a_reader_registration_is_reported() {
    no_fd_leak(|| {
        let lp = EventLoop::builder().paused_clock().build().unwrap();
        let reports = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let r2 = reports.clone();
        lp.set_exception_handler(move |_, ctx| r2.borrow_mut().push(ctx.message.clone()));
        let l2 = lp.clone();
        let send = lp
            .run_until_complete(async move {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                b.set_nonblocking(true).unwrap();
                sock_util::fill_send_buffer(&a, 0); // so that a send waits
                let keep = a.try_clone().unwrap(); // keeps the file (and its epoll entry) open
                // SAFETY: as in the test above: the number is used while `keep` holds the file;
                // once `a` is dropped it is closed (EBADF), which is the point.
                let raw = unsafe { BorrowedFd::borrow_raw(a.as_raw_fd()) };
                l2.add_reader(raw, || {}).unwrap();
                let mut send = Box::pin(l2.sock_sendall(raw, b"more"));
                assert!(futures_poll(send.as_mut()).await.is_pending());
                drop(a);
                // Drain the peer: the closed number becomes writable.
                let mut buf = vec![0u8; 1 << 16];
                while (&b).read(&mut buf).is_ok_and(|n| n > 0) {}
                let send = match select(Timer::after(Duration::from_secs(60)), send).await {
                    Either::Left(_) => None,
                    Either::Right(r) => Some(r),
                };
                // The report is a callback queued by the reactor: let it run.
                tower_coro::yield_now().await;
                l2.remove_reader(raw).unwrap();
                drop((keep, b));
                send
            })
            .unwrap();
        assert!(send.expect("the send was never woken").is_err());
        let reports = reports.borrow();
        assert!(
            reports
                .iter()
                .any(|m| m.contains("updating the poller registration of fd")),
            "the failed update was not reported: {reports:?}"
        );
        lp.close().unwrap();
    });
}

/// Polls `fut` once.
async fn futures_poll<F: std::future::Future>(
    fut: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    let mut fut = Some(fut);
    std::future::poll_fn(|cx| std::task::Poll::Ready(fut.take().unwrap().poll(cx))).await
}
