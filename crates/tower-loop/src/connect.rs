//! An async connect on [`Async`]: [`Async::<TcpStream>::connect`](Async::connect) (by
//! `SocketAddr`) and [`Async::<UnixStream>::connect`](Async::connect) (by path), as async-io
//! has them.
//!
//! The socket is made non-blocking and close-on-exec at creation, the connect is started, and
//! only then is the fd registered with the running loop (an unconnected TCP socket reports
//! writable-and-hung-up, which would end the wait before the handshake did). The wait is the
//! writability of the fd, and the result is read from `SO_ERROR` and `getpeername`, so a
//! spurious wake-up never returns a socket that is not connected yet.
//!
//! The futures are `Send` (they hold an `Async`, the address and a retry timer), so a `Send`
//! task on the multi-thread runtime can await them; the socket registers with the loop that
//! polls the future first (or that loop's `IoDriver`).
//!
//! Starting a connect is shared with [`EventLoop::sock_connect`](crate::EventLoop::sock_connect)
//! ([`poll_start`]): `EAGAIN` from `connect(2)` is not a connect in progress (Linux says it for a
//! Unix listener whose backlog is full, and leaves the socket unconnected: it polls writable at
//! once, with no error), so the connect is tried again after a pause ([`ConnectRetry`]: 1 ms,
//! doubling, up to 64 ms), as a blocking connect waits for room. Decision 0009, "Connecting".

use std::future::{Future, poll_fn};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};

use crate::async_fd::Async;
use crate::timer::Timer;

impl Async<TcpStream> {
    /// Opens a TCP connection to `addr` (no name resolution: tier 8's `create_connection`
    /// resolves hosts and races addresses).
    ///
    /// Dropping the future mid-way closes the socket: the attempt is abandoned (a handshake
    /// the kernel completed meanwhile is closed, and the peer sees the connection end); nothing
    /// else is left behind.
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use tower_loop::{Async, EventLoop};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// let lp = EventLoop::new().unwrap();
    /// let stream = lp.run_until_complete(Async::<std::net::TcpStream>::connect(addr)).unwrap().unwrap();
    /// assert_eq!(stream.get_ref().peer_addr().unwrap(), addr);
    /// ```
    ///
    /// # Errors
    ///
    /// The connect's error (`ConnectionRefused`, ...), a socket-creation error, or no running
    /// loop on this thread.
    pub async fn connect<A: Into<SocketAddr>>(addr: A) -> io::Result<Async<TcpStream>> {
        let addr = addr.into();
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::INET,
            SocketAddr::V6(_) => AddressFamily::INET6,
        };
        let fd = socket(family)?;
        start(&fd, &addr).await?;
        let stream = Async::new(TcpStream::from(fd))?;
        stream
            .write_with(|s| connected(s.take_error(), s.peer_addr().map(drop)))
            .await?;
        Ok(stream)
    }
}

impl Async<UnixStream> {
    /// Connects to the Unix socket at `path`.
    ///
    /// Dropping the future mid-way closes the socket, abandoning the attempt.
    ///
    /// ```
    /// use std::os::unix::net::{UnixListener, UnixStream};
    /// use tower_loop::{Async, EventLoop};
    ///
    /// let dir = std::env::temp_dir().join(format!("tower-connect-doc-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&dir);
    /// let _listener = UnixListener::bind(&dir).unwrap();
    /// let lp = EventLoop::new().unwrap();
    /// let s = lp.run_until_complete(Async::<UnixStream>::connect(&dir)).unwrap().unwrap();
    /// assert!(s.get_ref().peer_addr().is_ok());
    /// std::fs::remove_file(&dir).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The connect's error (`NotFound`, `ConnectionRefused`), a path too long for a socket
    /// address, or no running loop on this thread. A listener whose backlog is full is asked
    /// again after a short, growing pause until it has room (or closes: `ConnectionRefused`),
    /// as a blocking connect waits; bound the wait with a timeout if the listener may never
    /// accept.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<Async<UnixStream>> {
        let addr = SocketAddrUnix::new(path.as_ref())?;
        let fd = socket(AddressFamily::UNIX)?;
        start(&fd, &addr).await?;
        let stream = Async::new(UnixStream::from(fd))?;
        stream
            .write_with(|s| connected(s.take_error(), s.peer_addr().map(drop)))
            .await?;
        Ok(stream)
    }
}

/// A non-blocking, close-on-exec stream socket of `family`.
fn socket(family: AddressFamily) -> io::Result<OwnedFd> {
    Ok(crate::sock::nonblocking_socket(family, SocketType::STREAM)?)
}

/// Starts a connect of the fresh `fd` to `addr` ([`poll_start`]): done, or in progress (to be
/// waited for).
async fn start(fd: &OwnedFd, addr: &impl rustix::net::addr::SocketAddrArg) -> io::Result<()> {
    let mut retry = ConnectRetry::new();
    poll_fn(|cx| poll_start(cx, &mut retry, || rustix::net::connect(fd, addr))).await?;
    Ok(())
}

/// The pause before a connect that `EAGAIN` turned away is tried again: 1 ms, doubling on
/// each retry, up to 64 ms (a blocking connect is woken when the listener accepts; a
/// non-blocking socket gets no such wake-up, so it asks again).
#[derive(Debug)]
pub(crate) struct ConnectRetry {
    /// The pause running, if any.
    pause: Option<Timer>,
    /// The next pause's length.
    next: Duration,
}

impl ConnectRetry {
    /// The first pause.
    const FIRST: Duration = Duration::from_millis(1);
    /// The longest pause.
    const LAST: Duration = Duration::from_millis(64);

    /// No pause yet.
    pub(crate) fn new() -> ConnectRetry {
        ConnectRetry {
            pause: None,
            next: Self::FIRST,
        }
    }
}

/// Starts a connect on a non-blocking socket with `connect` (one `connect(2)` call), retrying
/// after a pause while it fails with `EAGAIN` (no attempt runs: Linux's answer for a Unix
/// listener with a full backlog). `Ready(Ok(true))`: connected at once; `Ready(Ok(false))`:
/// in progress (`EINPROGRESS`, or `EINTR`, after which POSIX has it go on asynchronously):
/// wait for writability; `Pending`: pausing before the next try, with `cx`'s waker registered.
/// Other errors are returned as they are, and so is `EAGAIN` when no tower loop runs on this
/// thread to pause on (the pause is a [`Timer`], which needs one).
pub(crate) fn poll_start(
    cx: &mut Context<'_>,
    retry: &mut ConnectRetry,
    mut connect: impl FnMut() -> rustix::io::Result<()>,
) -> Poll<rustix::io::Result<bool>> {
    loop {
        if let Some(pause) = &mut retry.pause {
            if Pin::new(pause).poll(cx).is_pending() {
                return Poll::Pending;
            }
            retry.pause = None;
        }
        match connect() {
            Ok(()) => return Poll::Ready(Ok(true)),
            Err(Errno::INPROGRESS | Errno::INTR) => return Poll::Ready(Ok(false)),
            Err(Errno::AGAIN) if crate::context::current().is_none() => {
                return Poll::Ready(Err(Errno::AGAIN));
            }
            Err(Errno::AGAIN) => {
                retry.pause = Some(Timer::after(retry.next));
                retry.next = (retry.next * 2).min(ConnectRetry::LAST);
            }
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// Whether a connect in progress ended: its error (`SO_ERROR`), done (`getpeername` works), or
/// still going (`WouldBlock`, so the caller waits for the next writability).
fn connected(error: io::Result<Option<io::Error>>, peer: io::Result<()>) -> io::Result<()> {
    if let Some(e) = error? {
        return Err(e);
    }
    match peer {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
}
