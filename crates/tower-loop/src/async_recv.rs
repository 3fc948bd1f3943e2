//! [`Async::poll_recv_uninit`]: a read of a stream socket into uninitialised memory.
//!
//! `futures-io` and std's `Read` read into an initialised `&mut [u8]`, so a caller holding
//! uninitialised memory (hyper's `ReadBufCursor`, a `Vec`'s spare capacity) has to zero it or
//! read elsewhere and copy. For the types whose `Read` is one `recv(2)` of their fd with no flags
//! (std's `TcpStream` and `UnixStream`: [`RecvSocket`]), `Async` makes that `recv` itself, into
//! `&mut [MaybeUninit<u8>]` (rustix's `recv` takes such a buffer; no unsafe code here), with the
//! same readiness protocol and short-read rule as its `futures-io` reads.

use std::io;
use std::mem::MaybeUninit;
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll};

use rustix::net::RecvFlags;

use crate::async_fd::{Async, Op};

/// A socket type whose `Read` is one `recv(2)` of its fd with no flags, so
/// [`Async::poll_recv_uninit`] may make that `recv` itself: std's [`TcpStream`] and
/// [`UnixStream`]. Sealed.
pub trait RecvSocket: AsFd + sealed::Sealed {}

impl RecvSocket for TcpStream {}
impl RecvSocket for UnixStream {}

/// Keeps [`RecvSocket`] to the types above.
mod sealed {
    /// The seal.
    pub trait Sealed {}
    impl Sealed for std::net::TcpStream {}
    impl Sealed for std::os::unix::net::UnixStream {}
}

impl<T: RecvSocket> Async<T> {
    /// Polls a read into `buf`, which need not be initialised: `Ready(Ok(n))` means the first
    /// `n` bytes of `buf` now hold the bytes read (`0`: end of stream, or an empty `buf`); no
    /// other byte of `buf` is written. Otherwise as `futures-io`'s `poll_read` on this `Async`:
    /// `WouldBlock` never reaches the caller (the task is registered for the next event
    /// instead), and a short read waits for the next event before the next `recv`.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::mem::MaybeUninit;
    /// use std::os::unix::net::UnixStream;
    /// use tower_loop::{Async, EventLoop};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.run_until_complete(async {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     let a = Async::new(a).unwrap();
    ///     b.write_all(b"ping").unwrap();
    ///     let mut buf = [MaybeUninit::<u8>::uninit(); 16];
    ///     let n = std::future::poll_fn(|cx| a.poll_recv_uninit(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(n, 4);
    ///     // The first `n` bytes are initialised now.
    ///     assert_eq!(buf[0].write(0), &0);
    /// })
    /// .unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The `recv`'s error, or a closed-loop error.
    pub fn poll_recv_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let op = Op::Read(buf.len());
        self.poll_io_ref(op, cx, |io| {
            let ((filled, _), _) = rustix::net::recv(io.as_fd(), &mut *buf, RecvFlags::empty())?;
            Ok(filled.len())
        })
    }
}
