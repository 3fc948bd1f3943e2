//! The loop's low-level socket methods (asyncio's `sock_recv`, `sock_recv_into`,
//! `sock_sendall`, `sock_accept`, `sock_connect`, and the datagram ones in [`datagram`]): try
//! the syscall first, and wait for readiness through the loop's reactor only on `WouldBlock`.
//!
//! A socket's fd is registered with the reactor once, edge-triggered, at its first wait, and
//! its readiness is cached: a read that returns fewer bytes than asked (or a write that takes
//! fewer) uses the readiness up, so the next operation waits for the next edge instead of
//! making a syscall that returns `EAGAIN`; writes and reads go straight to the socket while
//! it is ready. A TCP read that fills its buffer learns whether it left bytes behind from
//! `TCP_INQ` (`inq.rs`) or, on a busy loop, from the reactor's batched probe at the next poll
//! (the reactor's docs). The caller may still close a socket whenever no operation on it is pending
//! (see "Trusting a registration" in the reactor's docs). Each waiting operation holds its own
//! registration: dropping it removes that one only, so an operation started while a cancelled
//! one unwinds is still woken, and several operations may wait on one socket and direction
//! (asyncio allows one; each waiter is woken and retries its syscall). The futures are named
//! (storable) and borrow the loop, so they are `!Send`; `Send` code uses
//! [`Async`](crate::Async).
//!
//! In debug mode every operation first checks that the socket is non-blocking (asyncio's
//! `ValueError("the socket must be non-blocking")`), returning
//! [`BlockingSocket`] instead of stalling the loop in `accept` or
//! `connect`.

mod datagram;
pub(crate) mod inq;

pub use datagram::{SockRecvFrom, SockRecvFromInto, SockSendTo};

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags, SocketAddrAny, SocketAddrUnix};

use crate::EventLoop;
use crate::connect::ConnectRetry;
use crate::core::Core;
use crate::error::BlockingSocket;
use crate::reactor::{Attempt, READ, WRITE, WaiterId};

/// The flags of every `send`/`sendto`: never block, and report a closed peer as `EPIPE` rather
/// than raising `SIGPIPE`. Apple's systems have no `MSG_NOSIGNAL`: there the socket accepted by
/// [`EventLoop::sock_accept`] gets `SO_NOSIGPIPE`, and other sockets rely on the Rust runtime,
/// which ignores `SIGPIPE` before `main`.
#[cfg(not(target_vendor = "apple"))]
pub(crate) const SEND_FLAGS: SendFlags = SendFlags::DONTWAIT.union(SendFlags::NOSIGNAL);
/// The flags of every `send`/`sendto` (see the other targets' doc; Apple has no `MSG_NOSIGNAL`).
#[cfg(target_vendor = "apple")]
pub(crate) const SEND_FLAGS: SendFlags = SendFlags::DONTWAIT;

/// `accept4(NONBLOCK | CLOEXEC)`: the accepted socket is non-blocking and closed on `exec`.
/// The one accept of the workspace: [`EventLoop::sock_accept`] and tier 8's servers use it.
///
/// # Errors
///
/// `accept`'s (`EAGAIN` when no connection waits).
#[cfg(not(target_vendor = "apple"))]
pub fn accept_nonblocking(sock: impl AsFd) -> rustix::io::Result<OwnedFd> {
    use rustix::net::SocketFlags;
    rustix::net::accept_with(sock, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)
}

/// Apple's systems have no `accept4`: `accept`, then set `CLOEXEC`, `O_NONBLOCK` and
/// `SO_NOSIGPIPE` (there is no `MSG_NOSIGNAL` either). A `fork` in another thread between the
/// `accept` and the `fcntl` may leak the fd into the child, as with any `accept` on these systems.
///
/// # Errors
///
/// `accept`'s (`EAGAIN` when no connection waits).
#[cfg(target_vendor = "apple")]
pub fn accept_nonblocking(sock: impl AsFd) -> rustix::io::Result<OwnedFd> {
    let fd = rustix::net::accept(sock)?;
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
    rustix::fs::fcntl_setfl(&fd, rustix::fs::OFlags::NONBLOCK)?;
    rustix::net::sockopt::set_socket_nosigpipe(&fd, true)?;
    Ok(fd)
}

/// A new non-blocking, close-on-exec socket: the one socket maker of the workspace (tier 2's
/// `Async::connect`, tier 8's factories).
///
/// # Errors
///
/// `socket`'s (`EAFNOSUPPORT`, `EMFILE`...).
#[cfg(not(target_vendor = "apple"))]
pub fn nonblocking_socket(
    domain: rustix::net::AddressFamily,
    kind: rustix::net::SocketType,
) -> rustix::io::Result<OwnedFd> {
    use rustix::net::SocketFlags;
    rustix::net::socket_with(
        domain,
        kind,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
}

/// A new non-blocking, close-on-exec socket (Apple's `socket` takes no flags: both are set
/// after it).
///
/// # Errors
///
/// `socket`'s (`EAFNOSUPPORT`, `EMFILE`...).
#[cfg(target_vendor = "apple")]
pub fn nonblocking_socket(
    domain: rustix::net::AddressFamily,
    kind: rustix::net::SocketType,
) -> rustix::io::Result<OwnedFd> {
    let fd = rustix::net::socket(domain, kind, None)?;
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
    rustix::io::ioctl_fionbio(&fd, true)?;
    Ok(fd)
}

/// The wait state shared by the socket futures.
struct Waiter<'a> {
    /// The loop.
    core: &'a Core,
    /// The socket's fd.
    fd: RawFd,
    /// `READ` or `WRITE`.
    dir: u8,
    /// The first poll's checks were done.
    begun: bool,
    /// This operation's registration with the reactor, while it waits.
    id: Option<WaiterId>,
}

impl<'a> Waiter<'a> {
    /// A waiter for `dir` on `sock`.
    fn new(lp: &'a EventLoop, sock: &impl AsFd, dir: u8) -> Self {
        Waiter {
            core: lp.core(),
            fd: sock.as_fd().as_raw_fd(),
            dir,
            begun: false,
            id: None,
        }
    }

    /// The first poll's check: in debug mode, `sock` must be non-blocking (asyncio's check);
    /// costs nothing on later polls, or outside debug mode.
    fn begin(&mut self, sock: &impl AsFd) -> io::Result<()> {
        if self.begun {
            return Ok(());
        }
        self.begun = true;
        if self.core.debug().is_enabled() {
            check_nonblocking(sock)?;
        }
        Ok(())
    }

    /// Runs `op` until it does not report `EAGAIN`, waiting for readiness in between: if this
    /// operation waits and was not woken, stays pending; otherwise tries `op`, and on `EAGAIN`
    /// registers (arming the fd: the kernel reports readiness that arrived meanwhile) and stays
    /// pending.
    ///
    /// If the fd's registration says the direction is not ready (its readiness was used up
    /// since the last event), the syscall is not tried: the operation waits for the next edge.
    /// `drained` says whether a result used the readiness up (a short read or write: the
    /// kernel had no more), as `EAGAIN` does.
    #[inline]
    fn poll_op<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> rustix::io::Result<T>,
        drained: impl Fn(&T) -> bool,
    ) -> Poll<io::Result<T>> {
        self.poll_read_op(cx, false, |_| op(), |v, _| (drained(v), false, false))
    }

    /// [`poll_op`](Self::poll_op) for an operation that may ask `TCP_INQ` (`want_inq`; see
    /// `inq.rs`): `op` is told whether to ask, and `after` says of its result whether it used
    /// the readiness up, whether a read asked with `TCP_INQ` got no answer (the fd number
    /// names another socket now: the reactor asks again next time), and whether it filled the
    /// buffer. A plain read that filled the buffer where the reactor batches the question
    /// (`probe`) leaves it to the next poll's probe (`LocalReactor::defer_to_probe`). One look
    /// at the fd's entry before the syscall, and at most one after.
    #[inline]
    fn poll_read_op<T>(
        &mut self,
        cx: &mut Context<'_>,
        want_inq: bool,
        mut op: impl FnMut(bool) -> rustix::io::Result<T>,
        after: impl Fn(&T, bool) -> (bool, bool, bool),
    ) -> Poll<io::Result<T>> {
        let reactor = self.core.reactor();
        match reactor.attempt(self.fd, self.dir, self.id, cx.waker(), want_inq) {
            Attempt::Waiting => return Poll::Pending,
            Attempt::Try { inq, probe } => {
                self.id = None;
                loop {
                    match op(inq) {
                        Ok(v) => {
                            let (used_up, inq_lost, full) = after(&v, inq);
                            if full && probe {
                                reactor.defer_to_probe(self.fd);
                            } else {
                                if full && inq {
                                    reactor.count_full_read();
                                }
                                reactor.finish(self.fd, self.dir, used_up, inq_lost);
                            }
                            return Poll::Ready(Ok(v));
                        }
                        Err(Errno::AGAIN) => break,
                        Err(Errno::INTR) => continue,
                        Err(e) => return Poll::Ready(Err(e.into())),
                    }
                }
            }
            Attempt::Registered(id) => {
                self.id = Some(id);
                return Poll::Pending;
            }
        }
        let poller = self.core.shared().poller();
        match reactor.wait(poller, self.fd, self.dir, cx.waker()) {
            Ok(id) => {
                self.id = Some(id);
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for Waiter<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.cancel(id);
        }
    }
}

impl Waiter<'_> {
    /// A future dropped while it waited: removes its registration.
    #[inline(never)]
    fn cancel(&self, id: WaiterId) {
        self.core.reactor().cancel_wait(self.fd, self.dir, id);
    }
}

/// Whether a read or write of `n` bytes out of `len` was short: the kernel had no more data
/// (or room) then, so the next operation waits for the next edge instead of making a syscall
/// that would return `EAGAIN` (tokio's rule). `0` (end of stream, or an empty buffer) is not
/// short: end of stream stays readable. [`Async`](crate::Async)'s `futures-io` reads of std's
/// stream sockets use it too (`async_fd.rs`).
pub(crate) fn short(n: usize, len: usize) -> bool {
    n > 0 && n < len
}

/// One non-blocking read: the byte count, and (with `TCP_INQ`, `with_inq`) the bytes it left.
fn recv(
    sock: &impl AsFd,
    buf: &mut [u8],
    with_inq: bool,
) -> rustix::io::Result<(usize, Option<u32>)> {
    if with_inq {
        inq::recv(sock.as_fd(), buf)
    } else {
        rustix::net::recv(sock, buf, RecvFlags::DONTWAIT).map(|(n, _)| (n, None))
    }
}

/// Whether a read of `len` bytes that returned `(n, left)` took everything the kernel had:
/// it left nothing (`TCP_INQ` said so), or it was short. End of stream (`0`) is not.
fn took_all((n, left): (usize, Option<u32>), len: usize) -> bool {
    n > 0 && (left == Some(0) || n < len)
}

/// What a read of `len` bytes that returned `r`, asked with `TCP_INQ` or not (`inq`), tells the
/// reactor: whether it took everything ([`took_all`]), whether `TCP_INQ` was asked and not
/// answered (the fd number names another socket now), and whether it filled the buffer (a
/// plain read then cannot tell whether bytes remain).
fn read_after(r: (usize, Option<u32>), len: usize, inq: bool) -> (bool, bool, bool) {
    (
        took_all(r, len),
        inq && r.1.is_none(),
        r.0 > 0 && r.0 == len,
    )
}

/// Debug mode's check: `sock` is in non-blocking mode.
fn check_nonblocking(sock: &impl AsFd) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(sock)?;
    if flags.contains(rustix::fs::OFlags::NONBLOCK) {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, BlockingSocket))
    }
}

/// Future of [`EventLoop::sock_recv_into`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockRecvInto<'a, S: AsFd> {
    /// The socket.
    sock: S,
    /// Where the bytes go.
    buf: &'a mut [u8],
    /// Readiness wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockRecvInto<'_, S> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(e) = this.waiter.begin(&this.sock) {
            return Poll::Ready(Err(e));
        }
        let (sock, buf) = (&this.sock, &mut *this.buf);
        let len = buf.len();
        this.waiter
            .poll_read_op(
                cx,
                true,
                |inq| recv(sock, &mut *buf, inq),
                |&r, inq| read_after(r, len, inq),
            )
            .map_ok(|(n, _)| n)
    }
}

/// Future of [`EventLoop::sock_recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockRecv<'a, S: AsFd> {
    /// The socket.
    sock: S,
    /// The buffer being filled.
    buf: Vec<u8>,
    /// Readiness wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockRecv<'_, S> {
    type Output = io::Result<Vec<u8>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        let this = self.get_mut();
        if let Err(e) = this.waiter.begin(&this.sock) {
            return Poll::Ready(Err(e));
        }
        let (sock, buf) = (&this.sock, &mut this.buf);
        let len = buf.len();
        let res = this.waiter.poll_read_op(
            cx,
            true,
            |inq| recv(sock, &mut buf[..], inq),
            |&r, inq| read_after(r, len, inq),
        );
        match res {
            Poll::Ready(Ok((n, _))) => {
                let mut out = std::mem::take(&mut this.buf);
                out.truncate(n);
                Poll::Ready(Ok(out))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Future of [`EventLoop::sock_sendall`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockSendAll<'a, S: AsFd> {
    /// The socket.
    sock: S,
    /// What to send.
    data: &'a [u8],
    /// How much was sent.
    sent: usize,
    /// Writability wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockSendAll<'_, S> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.waiter.begin(&this.sock) {
            return Poll::Ready(Err(e));
        }
        while this.sent < this.data.len() {
            let (sock, rest) = (&this.sock, &this.data[this.sent..]);
            let len = rest.len();
            match this.waiter.poll_op(
                cx,
                || rustix::net::send(sock, rest, SEND_FLAGS),
                |&n| short(n, len),
            ) {
                Poll::Ready(Ok(n)) => this.sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Future of [`EventLoop::sock_accept`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockAccept<'a, S: AsFd> {
    /// The listening socket.
    sock: S,
    /// Readability wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockAccept<'_, S> {
    type Output = io::Result<OwnedFd>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<OwnedFd>> {
        let this = self.get_mut();
        if let Err(e) = this.waiter.begin(&this.sock) {
            return Poll::Ready(Err(e));
        }
        let sock = &this.sock;
        this.waiter.poll_op(
            cx,
            || {
                match accept_nonblocking(sock) {
                    // A connection reset before we took it: try the next one.
                    Err(Errno::CONNABORTED) => Err(Errno::AGAIN),
                    r => r,
                }
            },
            |_| false,
        )
    }
}

/// Future of [`EventLoop::sock_connect`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockConnect<'a, S: AsFd> {
    /// The socket.
    sock: S,
    /// Where to.
    addr: SocketAddrAny,
    /// A connection attempt is in progress (`connect(2)` said so): wait for its outcome.
    started: bool,
    /// The pause before the connect is tried again (`EAGAIN`: a full Unix backlog).
    retry: ConnectRetry,
    /// Writability wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockConnect<'_, S> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.waiter.begin(&this.sock) {
            return Poll::Ready(Err(e));
        }
        let (sock, addr) = (&this.sock, &this.addr);
        if !this.started {
            let first = crate::connect::poll_start(cx, &mut this.retry, || {
                match rustix::net::connect(sock, addr) {
                    // Linux: an earlier attempt failed and its error was already reported;
                    // this call only moved the socket back to unconnected. Start afresh.
                    Err(Errno::CONNABORTED) => rustix::net::connect(sock, addr),
                    // An earlier attempt runs (a sock_connect dropped mid-way; asyncio's
                    // BlockingIOError): wait for its outcome as for ours.
                    Err(Errno::ALREADY) => Err(Errno::INPROGRESS),
                    r => r,
                }
            });
            match first {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(true)) => return Poll::Ready(Ok(())),
                // Our attempt (or an earlier one) runs in the background: wait for it.
                Poll::Ready(Ok(false)) => this.started = true,
                // An earlier attempt already completed and connected: report that outcome.
                Poll::Ready(Err(Errno::ISCONN)) => {
                    return Poll::Ready(connected_to(sock, addr).map_err(Into::into));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            }
        }
        // Writable means the attempt finished: report its error, or connected.
        this.waiter.poll_op(
            cx,
            || match rustix::net::sockopt::socket_error(sock)? {
                Err(e) => Err(if e == Errno::AGAIN {
                    Errno::CONNREFUSED
                } else {
                    e
                }),
                Ok(()) => match connected_to(sock, addr) {
                    Err(Errno::NOTCONN) => Err(Errno::AGAIN),
                    r => r,
                },
            },
            |_| false,
        )
    }
}

/// Whether `sock` is connected to `addr` (`EISCONN` if to another address, `ENOTCONN` if to
/// none yet). IP: ports and addresses are compared (not IPv6 flow labels); an unspecified
/// `addr` (`0.0.0.0`, `::`), which the kernel connects to a local address, matches any. Unix:
/// the paths (or abstract names) are compared.
fn connected_to(sock: &impl AsFd, addr: &SocketAddrAny) -> rustix::io::Result<()> {
    let peer = rustix::net::getpeername(sock)?.ok_or(Errno::NOTCONN)?;
    let same = if let Ok(addr) = SocketAddr::try_from(addr.clone()) {
        let peer = SocketAddr::try_from(peer).map_err(|_| Errno::ISCONN)?;
        let ip_matches = peer.ip() == addr.ip() || addr.ip().is_unspecified();
        ip_matches && peer.port() == addr.port()
    } else if let Ok(addr) = SocketAddrUnix::try_from(addr.clone()) {
        let peer = SocketAddrUnix::try_from(peer).map_err(|_| Errno::ISCONN)?;
        same_unix(&peer, &addr)
    } else {
        peer == *addr
    };
    if same { Ok(()) } else { Err(Errno::ISCONN) }
}

/// Whether two Unix socket addresses name the same socket: the same path, or (Linux) the same
/// abstract name; the names are compared, not the address lengths (a path of the maximum
/// length has no NUL to count).
fn same_unix(a: &SocketAddrUnix, b: &SocketAddrUnix) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if a.abstract_name() != b.abstract_name() {
        return false;
    }
    a.path_bytes() == b.path_bytes()
}

macro_rules! debug_named {
    ($($name:ident),*) => {$(
        impl<S: AsFd> std::fmt::Debug for $name<'_, S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("fd", &self.waiter.fd)
                    .field("waiting", &self.waiter.id.is_some())
                    .finish()
            }
        }
    )*};
}
pub(crate) use debug_named;
debug_named!(SockRecvInto, SockRecv, SockSendAll, SockAccept, SockConnect);

impl EventLoop {
    /// Receives up to `buf.len()` bytes (asyncio's `sock_recv_into`); `Ok(0)` at end of stream.
    /// `sock` may be a reference (`&TcpStream`) or an owned socket.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way loses nothing: no bytes were taken from the socket yet
    /// (bytes are taken only by the call that completes the future).
    ///
    /// # Errors
    ///
    /// What `recv(2)` reports; [`BlockingSocket`] in debug mode if `sock` is blocking.
    pub fn sock_recv_into<'a, S: AsFd + Unpin>(
        &'a self,
        sock: S,
        buf: &'a mut [u8],
    ) -> SockRecvInto<'a, S> {
        let waiter = Waiter::new(self, &sock, READ);
        SockRecvInto { sock, buf, waiter }
    }

    /// Receives up to `n` bytes into a new buffer (asyncio's `sock_recv`); empty at end of
    /// stream.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way loses nothing.
    ///
    /// # Errors
    ///
    /// What `recv(2)` reports; [`BlockingSocket`] in debug mode if `sock` is blocking.
    pub fn sock_recv<S: AsFd + Unpin>(&self, sock: S, n: usize) -> SockRecv<'_, S> {
        let waiter = Waiter::new(self, &sock, READ);
        SockRecv {
            sock,
            buf: vec![0; n],
            waiter,
        }
    }

    /// Sends all of `data` (asyncio's `sock_sendall`); no `SIGPIPE` on a broken connection.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way may leave a prefix of `data` sent (as in asyncio).
    ///
    /// # Errors
    ///
    /// What `send(2)` reports; [`BlockingSocket`] in debug mode if `sock` is blocking.
    pub fn sock_sendall<'a, S: AsFd + Unpin>(
        &'a self,
        sock: S,
        data: &'a [u8],
    ) -> SockSendAll<'a, S> {
        let waiter = Waiter::new(self, &sock, WRITE);
        SockSendAll {
            sock,
            data,
            sent: 0,
            waiter,
        }
    }

    /// Accepts a connection on a non-blocking listening socket (asyncio's `sock_accept`). The
    /// new socket is non-blocking and close-on-exec; `std::net::TcpStream::from(fd)` wraps it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way loses no connection (none was accepted yet).
    ///
    /// # Errors
    ///
    /// What `accept4(2)` reports; [`BlockingSocket`] in debug mode if `sock` is blocking.
    pub fn sock_accept<S: AsFd + Unpin>(&self, sock: S) -> SockAccept<'_, S> {
        let waiter = Waiter::new(self, &sock, READ);
        SockAccept { sock, waiter }
    }

    /// Connects a non-blocking socket to `addr` (asyncio's `sock_connect`): an IP address
    /// ([`std::net::SocketAddr`]) or a Unix socket's ([`rustix::net::SocketAddrUnix`]).
    ///
    /// A Unix listener whose backlog is full turns a non-blocking connect away (`EAGAIN`: no
    /// attempt runs); the connect is then tried again after a short, growing pause (1 ms up to
    /// 64 ms) until the listener has room or closes (`ConnectionRefused`), as a blocking
    /// connect waits and as a TCP connect to a full backlog stays in progress. (asyncio waits
    /// for writability there and reports success on a socket that is not connected.) Bound the
    /// wait with a timeout if the listener may never accept.
    ///
    /// If an earlier attempt on `sock` (a `sock_connect` dropped mid-way) is still in
    /// progress, waits for it and reports its outcome, as asyncio does; if it already completed,
    /// reports its outcome: `Ok` if the socket is connected to `addr`, the attempt's error if it
    /// failed (the kernel hands it to this call), `EISCONN` if the socket is connected to
    /// another address. After a failure that was already reported, a new attempt starts (where
    /// Linux's `connect(2)` first says `ECONNABORTED`, and asyncio's caller has to retry).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way leaves the connection attempt to the kernel; call
    /// `sock_connect` again to wait for it.
    ///
    /// # Errors
    ///
    /// The attempt's error (`ConnectionRefused`, ...); [`BlockingSocket`] in debug mode if
    /// `sock` is blocking.
    pub fn sock_connect<S: AsFd + Unpin>(
        &self,
        sock: S,
        addr: impl Into<SocketAddrAny>,
    ) -> SockConnect<'_, S> {
        let waiter = Waiter::new(self, &sock, WRITE);
        SockConnect {
            sock,
            addr: addr.into(),
            started: false,
            retry: ConnectRetry::new(),
            waiter,
        }
    }
}
