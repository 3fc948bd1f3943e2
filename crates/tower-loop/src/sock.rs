//! The loop's low-level socket methods (asyncio's `sock_recv`, `sock_recv_into`,
//! `sock_sendall`, `sock_accept`, `sock_connect`): try the syscall first, and wait for
//! readiness through the loop's reactor only on `WouldBlock`.
//!
//! Each wait re-arms a one-shot registration of the fd (one `epoll_ctl`), so the caller may
//! close a socket whenever no operation on it is pending. One pending operation per direction
//! per socket (as asyncio). The futures are named (storable) and borrow the loop, so they are
//! `!Send`; `Send` code uses [`Async`](crate::Async).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags, SocketFlags};

use crate::EventLoop;
use crate::event_loop::Core;
use crate::reactor::{READ, WRITE};

/// The wait state shared by the socket futures.
struct Waiter<'a> {
    /// The loop.
    core: &'a Core,
    /// The socket's fd.
    fd: RawFd,
    /// `READ` or `WRITE`.
    dir: u8,
    /// A waker is registered with the reactor and has not fired yet.
    registered: bool,
}

impl<'a> Waiter<'a> {
    /// A waiter for `dir` on `sock`.
    fn new(lp: &'a EventLoop, sock: &impl AsFd, dir: u8) -> Self {
        Waiter {
            core: lp.core(),
            fd: sock.as_fd().as_raw_fd(),
            dir,
            registered: false,
        }
    }

    /// Runs `op` until it does not report `EAGAIN`, waiting for readiness in between: if a
    /// wait is pending and has not fired, stays pending; otherwise tries `op`, and on `EAGAIN`
    /// arms the fd (the kernel reports readiness that arrived meanwhile) and stays pending.
    fn poll_op<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> rustix::io::Result<T>,
    ) -> Poll<io::Result<T>> {
        let poller = &self.core.shared.poller;
        loop {
            if self.registered {
                match self
                    .core
                    .reactor
                    .wait(poller, self.fd, self.dir, cx.waker(), false)
                {
                    Ok(true) => return Poll::Pending,
                    Ok(false) => self.registered = false,
                    Err(e) => {
                        self.registered = false;
                        return Poll::Ready(Err(e));
                    }
                }
            }
            match op() {
                Ok(v) => return Poll::Ready(Ok(v)),
                Err(Errno::AGAIN) => {}
                Err(Errno::INTR) => continue,
                Err(e) => return Poll::Ready(Err(e.into())),
            }
            return match self
                .core
                .reactor
                .wait(poller, self.fd, self.dir, cx.waker(), true)
            {
                Ok(_) => {
                    self.registered = true;
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
            };
        }
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if self.registered {
            self.core.reactor.cancel_wait(self.fd, self.dir);
        }
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
        let (sock, buf) = (&this.sock, &mut *this.buf);
        this.waiter.poll_op(cx, || {
            rustix::net::recv(sock, &mut *buf, RecvFlags::DONTWAIT).map(|(n, _)| n)
        })
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
        let (sock, buf) = (&this.sock, &mut this.buf);
        match this.waiter.poll_op(cx, || {
            rustix::net::recv(sock, &mut buf[..], RecvFlags::DONTWAIT).map(|(n, _)| n)
        }) {
            Poll::Ready(Ok(n)) => {
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
        while this.sent < this.data.len() {
            let (sock, rest) = (&this.sock, &this.data[this.sent..]);
            match this.waiter.poll_op(cx, || {
                rustix::net::send(sock, rest, SendFlags::DONTWAIT | SendFlags::NOSIGNAL)
            }) {
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
        let sock = &this.sock;
        this.waiter.poll_op(cx, || {
            match rustix::net::accept_with(sock, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
                // A connection reset before we took it: try the next one.
                Err(Errno::CONNABORTED) => Err(Errno::AGAIN),
                r => r,
            }
        })
    }
}

/// Future of [`EventLoop::sock_connect`].
#[must_use = "futures do nothing unless awaited"]
pub struct SockConnect<'a, S: AsFd> {
    /// The socket.
    sock: S,
    /// Where to.
    addr: SocketAddr,
    /// `connect(2)` was issued and reported "in progress".
    started: bool,
    /// Writability wait.
    waiter: Waiter<'a>,
}

impl<S: AsFd + Unpin> Future for SockConnect<'_, S> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let sock = &this.sock;
        if !this.started {
            match rustix::net::connect(sock, &this.addr) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(Errno::INPROGRESS) | Err(Errno::INTR) | Err(Errno::AGAIN) => {
                    this.started = true
                }
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
        // Writable means the attempt finished: report its error, or connected.
        this.waiter
            .poll_op(cx, || match rustix::net::sockopt::socket_error(sock)? {
                Err(e) => Err(if e == Errno::AGAIN {
                    Errno::CONNREFUSED
                } else {
                    e
                }),
                Ok(()) => match rustix::net::getpeername(sock) {
                    Ok(_) => Ok(()),
                    Err(Errno::NOTCONN) => Err(Errno::AGAIN),
                    Err(e) => Err(e),
                },
            })
    }
}

macro_rules! debug_named {
    ($($name:ident),*) => {$(
        impl<S: AsFd> fmt::Debug for $name<'_, S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.waiter.fd).finish()
            }
        }
    )*};
}
debug_named!(SockRecvInto, SockRecv, SockSendAll, SockAccept, SockConnect);

impl EventLoop {
    /// Receives up to `buf.len()` bytes (asyncio's `sock_recv_into`); `Ok(0)` at end of stream.
    /// Dropping the future mid-way loses nothing: no bytes were taken from the socket yet.
    /// `sock` may be a reference (`&TcpStream`) or an owned socket.
    pub fn sock_recv_into<'a, S: AsFd + Unpin>(
        &'a self,
        sock: S,
        buf: &'a mut [u8],
    ) -> SockRecvInto<'a, S> {
        let waiter = Waiter::new(self, &sock, READ);
        SockRecvInto { sock, buf, waiter }
    }

    /// Receives up to `n` bytes into a new buffer (asyncio's `sock_recv`); empty at end of
    /// stream. Dropping the future mid-way loses nothing.
    pub fn sock_recv<S: AsFd + Unpin>(&self, sock: S, n: usize) -> SockRecv<'_, S> {
        let waiter = Waiter::new(self, &sock, READ);
        SockRecv {
            sock,
            buf: vec![0; n],
            waiter,
        }
    }

    /// Sends all of `data` (asyncio's `sock_sendall`); no `SIGPIPE` on a broken connection.
    /// Dropping the future mid-way may leave a prefix of `data` sent.
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
    /// Dropping the future mid-way loses no connection (none was accepted yet).
    pub fn sock_accept<S: AsFd + Unpin>(&self, sock: S) -> SockAccept<'_, S> {
        let waiter = Waiter::new(self, &sock, READ);
        SockAccept { sock, waiter }
    }

    /// Connects a non-blocking socket to `addr` (asyncio's `sock_connect`). Dropping the future
    /// mid-way leaves the connection attempt to the kernel.
    pub fn sock_connect<S: AsFd + Unpin>(&self, sock: S, addr: SocketAddr) -> SockConnect<'_, S> {
        let waiter = Waiter::new(self, &sock, WRITE);
        SockConnect {
            sock,
            addr,
            started: false,
            waiter,
        }
    }
}
