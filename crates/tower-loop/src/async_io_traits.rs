//! `futures-io`'s [`AsyncRead`]/[`AsyncWrite`] on [`Async<T>`](crate::Async) (and on `&Async<T>`,
//! as async-io has them), so the ecosystem's runtime-agnostic crates (hyper through
//! `tower-hyper`, codecs, `futures::io` helpers) read and write tower fds without hand-written
//! loops.
//!
//! Each call tries the operation first; on `WouldBlock` it clears the cached readiness (unless an
//! event came meanwhile) and registers the task for the next event of that direction, so
//! `WouldBlock` never reaches the caller. A short read of one of std's stream sockets clears the
//! readiness too, so the next read waits for the next event (`async_fd.rs`'s module docs).
//! `AsyncBufRead` is not implemented: an `Async` has no buffer of its own (wrap it in
//! `futures::io::BufReader`; tier 9's `StreamReader` is the buffered reader of the tower).
//!
//! `poll_close` flushes and does not shut the socket down: dropping the `Async` closes the fd
//! (as async-io's `Async` does; call `shutdown` on [`get_ref`](crate::Async::get_ref) for a
//! half-close).

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::async_fd::{Async, Op};

impl<T: AsFd + Read> AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let op = Op::Read(buf.len());
        self.get_mut().poll_io_mut(op, cx, |io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let op = Op::Read(bufs.iter().map(|b| b.len()).sum());
        self.get_mut()
            .poll_io_mut(op, cx, |io| io.read_vectored(bufs))
    }
}

impl<T: AsFd> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let op = Op::Read(buf.len());
        self.poll_io_ref(op, cx, |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let op = Op::Read(bufs.iter().map(|b| b.len()).sum());
        self.poll_io_ref(op, cx, |mut io| io.read_vectored(bufs))
    }
}

impl<T: AsFd + Write> AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io_mut(Op::Write, cx, |io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io_mut(Op::Write, cx, |io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_io_mut(Op::Write, cx, |io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: AsFd> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_io_ref(Op::Write, cx, |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io_ref(Op::Write, cx, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_io_ref(Op::Write, cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
