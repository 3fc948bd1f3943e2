//! Connecting to a Unix listener whose backlog is full, through both ways tier 2 connects:
//! [`EventLoop::sock_connect`] with a Unix address and [`Async::<UnixStream>::connect`].
//!
//! On Linux a non-blocking `connect(2)` to such a listener fails with `EAGAIN` and leaves the
//! socket unconnected (no attempt runs in the background, unlike `EINPROGRESS`): waiting for
//! writability would wake at once (an unconnected Unix stream socket polls writable) and read
//! `SO_ERROR` 0 from a socket that is not connected. Both ways retry the connect after a pause
//! instead, as a blocking connect waits for room (decision 0009, amendment "connecting when
//! `connect(2)` says `EAGAIN`").

mod sock_util;

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};
use sock_util::no_fd_leak;
use tower_coro::{Either, select};
use tower_loop::{Async, EventLoop, Timer};

/// A Unix listener at a fresh path with `listen(1)` whose queue is full: the connections that
/// filled it are returned (none accepted).
fn full_listener(name: &str) -> (OwnedFd, PathBuf, Vec<OwnedFd>) {
    let path = std::env::temp_dir().join(format!("tower-backlog-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let l = sock_util::socket(AddressFamily::UNIX, SocketType::STREAM);
    rustix::net::bind(&l, &SocketAddrUnix::new(&path).unwrap()).unwrap();
    rustix::net::listen(&l, 1).unwrap();
    let mut queued = Vec::new();
    loop {
        let c = sock_util::socket(AddressFamily::UNIX, SocketType::STREAM);
        match rustix::net::connect(&c, &SocketAddrUnix::new(&path).unwrap()) {
            Ok(()) => queued.push(c),
            Err(Errno::AGAIN) => break,
            Err(e) => panic!("filling the backlog: {e}"),
        }
        assert!(queued.len() < 64, "the backlog never filled");
    }
    (l, path, queued)
}

/// `fut`'s output, or `None` if it is still pending after `ms` milliseconds of the loop
/// running (it was polled across several retry pauses).
async fn within<F: Future + Unpin>(ms: u64, fut: &mut F) -> Option<F::Output> {
    match select(Timer::after(Duration::from_millis(ms)), Pin::new(fut)).await {
        Either::Left(_) => None,
        Either::Right(v) => Some(v),
    }
}

/// Which way to connect.
#[derive(Clone, Copy, Debug)]
enum Way {
    /// `EventLoop::sock_connect` on a socket of ours.
    SockConnect,
    /// `Async::<UnixStream>::connect`.
    AsyncConnect,
}

/// Connects to `path` the `way` way; the connected socket.
fn connect(
    lp: &EventLoop,
    way: Way,
    path: &Path,
) -> Pin<Box<dyn Future<Output = io::Result<OwnedFd>>>> {
    let lp = lp.clone();
    let path = path.to_path_buf();
    Box::pin(async move {
        match way {
            Way::SockConnect => {
                let sock = sock_util::socket(AddressFamily::UNIX, SocketType::STREAM);
                lp.sock_connect(&sock, SocketAddrUnix::new(&path)?).await?;
                Ok(sock)
            }
            Way::AsyncConnect => Ok(Async::<UnixStream>::connect(&path)
                .await?
                .into_inner()?
                .into()),
        }
    })
}

/// What the listener does while the connect waits.
#[derive(Clone, Copy, Debug)]
enum Then {
    /// Accepts one connection: room for one more.
    Accept,
    /// Closes (with the connections queued).
    Close,
}

/// Connects the `way` way to a listener whose queue is full; checks that the connect waits
/// (it neither fails with `EAGAIN` nor reports a socket that is not connected); has the
/// listener do `then`; hands `check` the connect's outcome (`None`: still pending 30 s later)
/// and the listener's path. No fd leaks.
fn while_full(way: Way, then: Then, check: impl FnOnce(Option<io::Result<OwnedFd>>, &Path)) {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let (listener, path, queued) = full_listener(&format!("{way:?}-{then:?}"));
        let l2 = lp.clone();
        let p2 = path.clone();
        let (outcome, kept) = lp
            .run_until_complete(async move {
                let mut c = connect(&l2, way, &p2);
                if let Some(r) = within(100, &mut c).await {
                    let r = r.map(|_| "connected (Ok: not connected for real)");
                    panic!("{way:?}: finished with the queue full: {r:?}");
                }
                let kept = match then {
                    Then::Accept => {
                        drop(tower_loop::accept_nonblocking(&listener).unwrap());
                        Some((listener, queued))
                    }
                    Then::Close => {
                        drop((listener, queued));
                        None
                    }
                };
                (within(30_000, &mut c).await, kept)
            })
            .unwrap();
        check(outcome, &path);
        drop(kept);
        lp.close().unwrap();
        std::fs::remove_file(&path).unwrap();
    });
}

/// Once the listener makes room, the retried connect gets in: connected to the listener.
fn waits_for_room(way: Way) {
    while_full(way, Then::Accept, |outcome, path| {
        let sock = match outcome {
            Some(Ok(sock)) => sock,
            other => panic!("{way:?}: no connection once there was room: {other:?}"),
        };
        let peer = rustix::net::getpeername(&sock).unwrap().unwrap();
        let peer = SocketAddrUnix::try_from(peer).unwrap();
        assert_eq!(
            peer.path().unwrap().to_bytes(),
            path.as_os_str().as_encoded_bytes()
        );
    });
}

#[test]
fn connect_waits_for_room_in_a_full_unix_backlog() {
    waits_for_room(Way::SockConnect);
    waits_for_room(Way::AsyncConnect);
}

/// The listener closes while the connect waits: the retry fails with `ConnectionRefused`
/// (no hang).
fn refused_when_the_listener_closes(way: Way) {
    while_full(way, Then::Close, |outcome, _| match outcome {
        Some(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{way:?}: {e}"),
        other => panic!("{way:?}: {other:?}"),
    });
}

#[test]
fn connect_is_refused_when_the_listener_closes() {
    refused_when_the_listener_closes(Way::SockConnect);
    refused_when_the_listener_closes(Way::AsyncConnect);
}

// `sock_connect` with a Unix address on a socket already connected: `Ok` for the same path
// (its peer's address, compared by path), `EISCONN` for another (as for an IP address).
#[test]
fn sock_connect_again_on_a_connected_unix_socket() {
    no_fd_leak(|| {
        let lp = EventLoop::new().unwrap();
        let listener = |name: &str| {
            let path =
                std::env::temp_dir().join(format!("tower-again-{name}-{}", std::process::id()));
            let _ = std::fs::remove_file(&path);
            (std::os::unix::net::UnixListener::bind(&path).unwrap(), path)
        };
        let ((la, a), (lb, b)) = (listener("a"), listener("b"));
        let sock = sock_util::socket(AddressFamily::UNIX, SocketType::STREAM);
        let l2 = lp.clone();
        let (first, again, other) = lp
            .run_until_complete(async {
                let to = |p: &Path| SocketAddrUnix::new(p).unwrap();
                (
                    l2.sock_connect(&sock, to(&a)).await,
                    l2.sock_connect(&sock, to(&a)).await,
                    l2.sock_connect(&sock, to(&b)).await,
                )
            })
            .unwrap();
        first.unwrap();
        again.unwrap();
        assert_eq!(
            other.unwrap_err().raw_os_error(),
            Some(Errno::ISCONN.raw_os_error())
        );
        drop((sock, la, lb));
        lp.close().unwrap();
        std::fs::remove_file(&a).unwrap();
        std::fs::remove_file(&b).unwrap();
    });
}

// Outside a running loop there is no timer to pause on: a full backlog is reported as
// `WouldBlock` (the connect's `EAGAIN`) instead of a panic.
#[test]
fn async_connect_without_a_loop_reports_would_block() {
    no_fd_leak(|| {
        let (listener, path, queued) = full_listener("no-loop");
        let mut c = std::pin::pin!(Async::<UnixStream>::connect(&path));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match c.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            other => panic!("{other:?}"),
        }
        drop((listener, queued));
        std::fs::remove_file(&path).unwrap();
    });
}
