//! The datagram socket methods (asyncio 3.11's `sock_sendto`, `sock_recvfrom`,
//! `sock_recvfrom_into`), for UDP sockets over IPv4 and IPv6.
//!
//! A datagram is sent or received whole by one syscall, which completes the future in the
//! poll that makes it: a dropped future has sent or taken nothing, so a datagram is never
//! half-consumed.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustix::net::{RecvFlags, SocketAddrAny};

use super::{SEND_FLAGS, Waiter, debug_named};
use crate::EventLoop;
use crate::error::UnsupportedAddress;
use crate::reactor::{READ, WRITE};

/// Future of [`EventLoop::sock_sendto`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockSendTo<'a, S: AsFd> {
    /// The socket.
    sock: S,
    /// The datagram.
    data: &'a [u8],
    /// Where to.
    addr: SocketAddr,
    /// Writability wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockSendTo<'_, S> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(e) = this.waiter.begin(&this.sock) {
            return Poll::Ready(Err(e));
        }
        let (sock, data, addr) = (&this.sock, this.data, this.addr);
        this.waiter.poll_op(
            cx,
            || rustix::net::sendto(sock, data, SEND_FLAGS, &addr),
            |_| false,
        )
    }
}

/// Future of [`EventLoop::sock_recvfrom_into`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockRecvFromInto<'a, S: AsFd> {
    /// The socket.
    sock: S,
    /// Where the datagram goes.
    buf: &'a mut [u8],
    /// Readiness wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockRecvFromInto<'_, S> {
    type Output = io::Result<(usize, SocketAddr)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(e) = this.waiter.begin(&this.sock) {
            return Poll::Ready(Err(e));
        }
        let (sock, buf) = (&this.sock, &mut *this.buf);
        this.waiter
            .poll_op(
                cx,
                || {
                    rustix::net::recvfrom(sock, &mut *buf, RecvFlags::DONTWAIT)
                        .map(|(n, _, from)| (n, from))
                },
                // A datagram says nothing of the next one.
                |_| false,
            )
            .map(|r| r.and_then(|(n, from)| Ok((n, ip_address(from)?))))
    }
}

/// Future of [`EventLoop::sock_recvfrom`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockRecvFrom<'a, S: AsFd> {
    /// The socket.
    sock: S,
    /// The buffer being filled.
    buf: Vec<u8>,
    /// Readiness wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockRecvFrom<'_, S> {
    type Output = io::Result<(Vec<u8>, SocketAddr)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(e) = this.waiter.begin(&this.sock) {
            return Poll::Ready(Err(e));
        }
        let (sock, buf) = (&this.sock, &mut this.buf);
        match this.waiter.poll_op(
            cx,
            || {
                rustix::net::recvfrom(sock, &mut buf[..], RecvFlags::DONTWAIT)
                    .map(|(n, _, from)| (n, from))
            },
            |_| false,
        ) {
            Poll::Ready(Ok((n, from))) => {
                let mut out = std::mem::take(&mut this.buf);
                out.truncate(n);
                Poll::Ready(ip_address(from).map(|from| (out, from)))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

debug_named!(SockSendTo, SockRecvFromInto, SockRecvFrom);

/// The sender's address as an IP socket address, or [`UnsupportedAddress`].
fn ip_address(from: Option<SocketAddrAny>) -> io::Result<SocketAddr> {
    from.and_then(|a| SocketAddr::try_from(a).ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::Unsupported, UnsupportedAddress))
}

impl EventLoop {
    /// Sends the datagram `data` to `addr` on a UDP socket (asyncio's `sock_sendto`); returns
    /// the number of bytes sent (all of them: a datagram is sent whole or not at all).
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// server.set_nonblocking(true).unwrap();
    /// client.set_nonblocking(true).unwrap();
    /// let to = server.local_addr().unwrap();
    /// let (data, from) = lp
    ///     .run_until_complete(async {
    ///         lp.sock_sendto(&client, b"ping", to).await.unwrap();
    ///         lp.sock_recvfrom(&server, 1500).await.unwrap()
    ///     })
    ///     .unwrap();
    /// assert_eq!(data, b"ping");
    /// assert_eq!(from, client.local_addr().unwrap());
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way sent nothing: the datagram leaves only in the call that
    /// completes the future.
    ///
    /// # Errors
    ///
    /// What `sendto(2)` reports (`EMSGSIZE` for a datagram larger than the protocol allows);
    /// [`BlockingSocket`](crate::error::BlockingSocket) in debug mode if `sock` is blocking.
    pub fn sock_sendto<'a, S: AsFd + Unpin>(
        &'a self,
        sock: S,
        data: &'a [u8],
        addr: SocketAddr,
    ) -> SockSendTo<'a, S> {
        let waiter = Waiter::new(self, &sock, WRITE);
        SockSendTo {
            sock,
            data,
            addr,
            waiter,
        }
    }

    /// Receives one datagram of at most `bufsize` bytes and its sender's address (asyncio's
    /// `sock_recvfrom`). A longer datagram is truncated to `bufsize`; the rest of it is
    /// discarded by the kernel, as in asyncio.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way takes no datagram: a datagram is taken only by the call that
    /// completes the future, so it is never half-consumed.
    ///
    /// # Errors
    ///
    /// What `recvfrom(2)` reports; [`BlockingSocket`](crate::error::BlockingSocket) in debug mode if `sock` is blocking;
    /// [`UnsupportedAddress`] if the socket is not an IPv4 or IPv6 one (the datagram was
    /// received).
    pub fn sock_recvfrom<S: AsFd + Unpin>(&self, sock: S, bufsize: usize) -> SockRecvFrom<'_, S> {
        let waiter = Waiter::new(self, &sock, READ);
        SockRecvFrom {
            sock,
            buf: vec![0; bufsize],
            waiter,
        }
    }

    /// Receives one datagram into `buf` (asyncio's `sock_recvfrom_into`; pass `&mut
    /// buf[..nbytes]` for asyncio's `nbytes`); returns how many bytes were written and the
    /// sender's address. A datagram longer than `buf` is truncated; the rest is discarded.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use tower_loop::EventLoop;
    ///
    /// let lp = EventLoop::new().unwrap();
    /// let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// sock.set_nonblocking(true).unwrap();
    /// let me = sock.local_addr().unwrap();
    /// let mut buf = [0u8; 64];
    /// let (n, from) = lp
    ///     .run_until_complete(async {
    ///         lp.sock_sendto(&sock, b"to myself", me).await.unwrap();
    ///         lp.sock_recvfrom_into(&sock, &mut buf).await.unwrap()
    ///     })
    ///     .unwrap();
    /// assert_eq!((&buf[..n], from), (&b"to myself"[..], me));
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As [`sock_recvfrom`](Self::sock_recvfrom): a dropped future took no datagram, and
    /// wrote nothing into `buf`.
    ///
    /// # Errors
    ///
    /// As [`sock_recvfrom`](Self::sock_recvfrom).
    pub fn sock_recvfrom_into<'a, S: AsFd + Unpin>(
        &'a self,
        sock: S,
        buf: &'a mut [u8],
    ) -> SockRecvFromInto<'a, S> {
        let waiter = Waiter::new(self, &sock, READ);
        SockRecvFromInto { sock, buf, waiter }
    }
}
