//! The parent's ends of a child's pipes as async readers and writers on the loop's fd readiness
//! source ([`tower_loop::Async`]): [`PipeReader`] for stdout/stderr, [`PipeWriter`] for stdin.
//! Tier 7 later wraps them in transports.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use tower_loop::Async;

/// How much `read_to_end` asks the kernel for at a time (a pipe holds 64 KiB by default).
const CHUNK: usize = 64 * 1024;

/// The read end of a child's stdout or stderr pipe, non-blocking and registered with the loop
/// that spawned the child (asyncio's `proc.stdout` as a byte source).
///
/// Implements [`futures_io::AsyncRead`], and has inherent [`read`](Self::read) and
/// [`read_to_end`](Self::read_to_end).
///
/// # Examples
///
/// ```
/// use tower_exec::{Command, Stdio};
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let out = lp
///     .run_until_complete(async {
///         let mut child = Command::new("echo").arg("hi").stdout(Stdio::Pipe).spawn().unwrap();
///         let mut out = Vec::new();
///         child.stdout.as_mut().unwrap().read_to_end(&mut out).await.unwrap();
///         child.wait().await.unwrap();
///         out
///     })
///     .unwrap();
/// assert_eq!(out, b"hi\n");
/// ```
pub struct PipeReader {
    /// The registered fd.
    io: Async<OwnedFd>,
}

/// The write end of a child's stdin pipe, non-blocking and registered with the loop that spawned
/// the child (asyncio's `proc.stdin`). Dropping it (or [`close`](Self::close)) closes the pipe,
/// so the child reads end-of-file.
///
/// Implements [`futures_io::AsyncWrite`], and has inherent [`write`](Self::write) and
/// [`write_all`](Self::write_all). Writing to a child that closed its end fails with
/// [`io::ErrorKind::BrokenPipe`] (Rust programs ignore `SIGPIPE`).
///
/// # Examples
///
/// ```
/// use tower_exec::{Command, Stdio};
/// use tower_loop::EventLoop;
///
/// let lp = EventLoop::new().unwrap();
/// let out = lp
///     .run_until_complete(async {
///         let mut child = Command::new("cat").stdin(Stdio::Pipe).stdout(Stdio::Pipe).spawn().unwrap();
///         let mut stdin = child.stdin.take().unwrap();
///         stdin.write_all(b"echo").await.unwrap();
///         stdin.close(); // EOF for cat
///         let mut out = Vec::new();
///         child.stdout.as_mut().unwrap().read_to_end(&mut out).await.unwrap();
///         out
///     })
///     .unwrap();
/// assert_eq!(out, b"echo");
/// ```
pub struct PipeWriter {
    /// The registered fd; `None` once closed through [`AsyncWrite::poll_close`].
    io: Option<Async<OwnedFd>>,
}

/// Turns rustix's errno into std's error.
fn os(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}

impl PipeReader {
    /// Registers `fd` (made non-blocking) with the running loop.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<PipeReader> {
        Ok(PipeReader {
            io: Async::new(fd)?,
        })
    }

    /// Polls one `read` into `buf`: `Ok(0)` is end-of-file.
    ///
    /// # Errors
    ///
    /// The OS error of `read`, or the loop being closed.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let fut = self
            .io
            .read_with(|fd| rustix::io::read(fd, &mut *buf).map_err(os));
        // A fresh operation per poll: it tries the read first, and on `WouldBlock` leaves this
        // task's waker registered with the source before returning `Pending`.
        pin!(fut).poll(cx)
    }

    /// Polls reads appending to `out` until end-of-file; `Ready(Ok(total))` then.
    fn poll_read_to_end(
        &self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
        total: &mut usize,
    ) -> Poll<io::Result<usize>> {
        loop {
            out.reserve(CHUNK);
            let fut = self.io.read_with(|fd| {
                rustix::io::read(fd, rustix::buffer::spare_capacity(&mut *out)).map_err(os)
            });
            match pin!(fut).poll(cx) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(*total)),
                Poll::Ready(Ok(n)) => *total += n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Reads some bytes into `buf`; `Ok(0)` at end-of-file.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes reads nothing (no byte is lost).
    pub fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a> {
        Read { pipe: self, buf }
    }

    /// Reads until end-of-file, appending to `out`; resolves to the number of bytes read.
    ///
    /// # Cancel safety
    ///
    /// Bytes read before the future is dropped stay appended to `out`; none are lost.
    pub fn read_to_end<'a>(&'a mut self, out: &'a mut Vec<u8>) -> ReadToEnd<'a> {
        ReadToEnd {
            pipe: self,
            out,
            total: 0,
        }
    }
}

impl PipeWriter {
    /// Registers `fd` (made non-blocking) with the running loop.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<PipeWriter> {
        Ok(PipeWriter {
            io: Some(Async::new(fd)?),
        })
    }

    /// Polls one `write` of `buf`.
    ///
    /// # Errors
    ///
    /// The OS error of `write` (`BrokenPipe` once the child closed its end, or once this end was
    /// closed with [`AsyncWrite::poll_close`]), or the loop being closed.
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let Some(io) = &self.io else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the pipe to the child's stdin was closed",
            )));
        };
        let fut = io.write_with(|fd| rustix::io::write(fd, buf).map_err(os));
        pin!(fut).poll(cx)
    }

    /// Writes some of `buf`; resolves to how many bytes the pipe took.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes writes nothing.
    pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a> {
        Write { pipe: self, buf }
    }

    /// Writes all of `buf`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way leaves a prefix of `buf` written; how much is not reported.
    pub fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a> {
        WriteAll { pipe: self, buf }
    }

    /// Closes the pipe (the child reads end-of-file); the same as dropping it.
    pub fn close(self) {
        drop(self);
    }
}

/// The future of [`PipeReader::read`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Read<'a> {
    /// The pipe.
    pipe: &'a mut PipeReader,
    /// Where the bytes go.
    buf: &'a mut [u8],
}

impl Future for Read<'_> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.pipe.poll_read(cx, this.buf)
    }
}

/// The future of [`PipeReader::read_to_end`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadToEnd<'a> {
    /// The pipe.
    pipe: &'a mut PipeReader,
    /// Where the bytes go.
    out: &'a mut Vec<u8>,
    /// Bytes appended so far.
    total: usize,
}

impl Future for ReadToEnd<'_> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.pipe.poll_read_to_end(cx, this.out, &mut this.total)
    }
}

/// The future of [`PipeWriter::write`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Write<'a> {
    /// The pipe.
    pipe: &'a mut PipeWriter,
    /// The bytes.
    buf: &'a [u8],
}

impl Future for Write<'_> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.pipe.poll_write(cx, this.buf)
    }
}

/// The future of [`PipeWriter::write_all`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct WriteAll<'a> {
    /// The pipe.
    pipe: &'a mut PipeWriter,
    /// What is left to write.
    buf: &'a [u8],
}

impl Future for WriteAll<'_> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.buf.is_empty() {
            match this.pipe.poll_write(cx, this.buf) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => this.buf = &this.buf[n..],
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for PipeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        PipeReader::poll_read(self.get_mut(), cx, buf)
    }
}

impl AsyncWrite for PipeWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        PipeWriter::poll_write(self.get_mut(), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe has no user-space buffer here.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Closing the fd is what tells the child "end of input".
        self.get_mut().io = None;
        Poll::Ready(Ok(()))
    }
}

impl AsFd for PipeReader {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for PipeReader {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl PipeWriter {
    /// The pipe's fd, or `None` once closed through [`AsyncWrite::poll_close`].
    pub fn as_fd(&self) -> Option<BorrowedFd<'_>> {
        self.io.as_ref().map(AsFd::as_fd)
    }
}

impl fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeReader")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeWriter")
            .field("fd", &self.as_fd().map(|fd| fd.as_raw_fd()))
            .finish()
    }
}
