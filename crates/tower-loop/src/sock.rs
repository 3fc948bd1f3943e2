//! The loop's low-level socket methods (asyncio's `sock_recv`, `sock_recv_into`,
//! `sock_sendall`, `sock_accept`, `sock_connect`): try the syscall first, and wait for
//! readiness through the loop's reactor only on `WouldBlock`.
//!
//! Each wait re-arms a one-shot registration of the fd (one `epoll_ctl`), so the caller may
//! close a socket whenever no operation on it is pending. One pending operation per direction
//! per socket (as asyncio). These futures borrow the loop and are `!Send`; `Send` code uses
//! [`Async`](crate::Async).

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

/// Waits once for `dir` readiness of `fd` through the loop's reactor.
struct FdWait<'a> {
    /// The loop.
    core: &'a Core,
    /// The fd.
    fd: RawFd,
    /// `READ` or `WRITE`.
    dir: u8,
    /// Registered a waiter and not yet woken.
    registered: bool,
}

impl Future for FdWait<'_> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let first = !self.registered;
        let poller = &self.core.shared.poller;
        match self
            .core
            .reactor
            .wait(poller, self.fd, self.dir, cx.waker(), first)
        {
            Err(e) => Poll::Ready(Err(e)),
            Ok(true) => {
                self.registered = true;
                Poll::Pending
            }
            Ok(false) => {
                self.registered = false;
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl Drop for FdWait<'_> {
    fn drop(&mut self) {
        if self.registered {
            self.core.reactor.cancel_wait(self.fd, self.dir);
        }
    }
}

impl EventLoop {
    /// Waits for `dir` readiness of `fd`.
    fn fd_wait(&self, fd: RawFd, dir: u8) -> FdWait<'_> {
        FdWait {
            core: self.core(),
            fd,
            dir,
            registered: false,
        }
    }

    /// Receives up to `buf.len()` bytes (asyncio's `sock_recv_into`); `Ok(0)` at end of stream.
    /// Dropping the future mid-way loses nothing: no bytes were taken from the socket yet.
    ///
    /// # Errors
    ///
    /// The socket's error (connection reset, ...).
    pub async fn sock_recv_into(&self, sock: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match rustix::net::recv(&sock, &mut *buf, RecvFlags::DONTWAIT) {
                Ok((n, _)) => return Ok(n),
                Err(Errno::AGAIN) => {}
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            self.fd_wait(sock.as_fd().as_raw_fd(), READ).await?;
        }
    }

    /// Receives up to `n` bytes into a new buffer (asyncio's `sock_recv`); empty at end of
    /// stream.
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub async fn sock_recv(&self, sock: impl AsFd, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        let got = self.sock_recv_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Sends all of `data` (asyncio's `sock_sendall`). Dropping the future mid-way may leave
    /// a prefix of `data` sent.
    ///
    /// # Errors
    ///
    /// The socket's error (broken pipe: no `SIGPIPE` is raised).
    pub async fn sock_sendall(&self, sock: impl AsFd, data: &[u8]) -> io::Result<()> {
        let mut sent = 0;
        while sent < data.len() {
            match rustix::net::send(
                &sock,
                &data[sent..],
                SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
            ) {
                Ok(n) => {
                    sent += n;
                    continue;
                }
                Err(Errno::AGAIN) => {}
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            self.fd_wait(sock.as_fd().as_raw_fd(), WRITE).await?;
        }
        Ok(())
    }

    /// Accepts a connection on a non-blocking listening socket (asyncio's `sock_accept`). The
    /// new socket is non-blocking and close-on-exec; `std::net::TcpStream::from(fd)` wraps it.
    ///
    /// # Errors
    ///
    /// The listener's error.
    pub async fn sock_accept(&self, sock: impl AsFd) -> io::Result<OwnedFd> {
        loop {
            match rustix::net::accept_with(&sock, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
                Ok(fd) => return Ok(fd),
                Err(Errno::AGAIN) | Err(Errno::CONNABORTED) => {}
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            self.fd_wait(sock.as_fd().as_raw_fd(), READ).await?;
        }
    }

    /// Connects a non-blocking socket to `addr` (asyncio's `sock_connect`).
    ///
    /// # Errors
    ///
    /// The connection's error (refused, unreachable, ...).
    pub async fn sock_connect(&self, sock: impl AsFd, addr: SocketAddr) -> io::Result<()> {
        match rustix::net::connect(&sock, &addr) {
            Ok(()) => return Ok(()),
            Err(Errno::INPROGRESS) | Err(Errno::INTR) | Err(Errno::AGAIN) => {}
            Err(e) => return Err(e.into()),
        }
        loop {
            self.fd_wait(sock.as_fd().as_raw_fd(), WRITE).await?;
            match rustix::net::sockopt::socket_error(&sock)? {
                Ok(()) => {}
                Err(e) => return Err(e.into()),
            }
            // Writable and no pending error: connected if it has a peer.
            match rustix::net::getpeername(&sock) {
                Ok(_) => return Ok(()),
                Err(Errno::NOTCONN) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}
