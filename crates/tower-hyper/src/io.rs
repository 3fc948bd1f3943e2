//! [`TowerIo`]: hyper's I/O traits (`hyper::rt::Read`/`Write`) over any `futures-io` type.
//!
//! hyper reads into a buffer it may not have initialised (`ReadBufCursor`), and `futures-io`
//! reads into an initialised `&mut [u8]`. Zeroing hyper's window before each read cost 18% of a
//! pipelined hello's instructions (callgrind; hyper's window is kilobytes, a read tens of
//! bytes), so a read goes into a per-thread zeroed scratch buffer (64 KiB, zeroed once) and the
//! bytes read are copied into hyper's buffer: a copy of what was read instead of a `memset` of
//! what might be. A tower socket wrapped with [`TowerIo::socket`] skips the copy: hyper's
//! uninitialised window goes to [`Async::poll_recv_uninit`], which `recv`s straight into it.
//! Writes pass straight through; `poll_shutdown` is `poll_close`.

use std::cell::Cell;
use std::fmt;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;
use tower_loop::{Async, RecvSocket};

/// A read into uninitialised memory ([`Async::poll_recv_uninit`]): `Ready(Ok(n))` means the
/// first `n` bytes of the buffer were written and nothing else was.
type DirectRead<T> = fn(&T, &mut Context<'_>, &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>;

pin_project_lite::pin_project! {
    /// A `futures-io` object seen as hyper I/O: `hyper::rt::Read` where `T: AsyncRead`,
    /// `hyper::rt::Write` where `T: AsyncWrite` (like hyper-util's `TokioIo`, for the tower).
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use tower_hyper::TowerIo;
    /// use tower_loop::{Async, EventLoop};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.run_until_complete(async {
    ///     let (a, _b) = UnixStream::pair().unwrap();
    ///     let io = TowerIo::new(Async::new(a).unwrap());
    ///     assert!(io.get_ref().get_ref().peer_addr().is_ok());
    ///     let _a: Async<UnixStream> = io.into_inner();
    /// })
    /// .unwrap();
    /// ```
    pub struct TowerIo<T> {
        #[pin]
        inner: T,
        // Whether hyper should hand this object several buffers at once (`poll_write_vectored`).
        vectored: bool,
        // How to read into hyper's uninitialised buffer without the scratch copy, where `T`
        // can (`TowerIo::socket`).
        direct: Option<DirectRead<T>>,
    }
}

impl<T> TowerIo<T> {
    /// Wraps `inner`. hyper flattens its writes into one buffer (the default; see
    /// [`with_vectored_writes`](Self::with_vectored_writes)).
    pub fn new(inner: T) -> TowerIo<T> {
        TowerIo {
            inner,
            vectored: false,
            direct: None,
        }
    }

    /// Tells hyper whether `inner`'s `poll_write_vectored` writes several buffers at once (as
    /// `Async<TcpStream>`'s does, with `writev`): then hyper queues headers and body as separate
    /// buffers instead of copying the body into its header buffer.
    #[must_use]
    pub fn with_vectored_writes(mut self, on: bool) -> TowerIo<T> {
        self.vectored = on;
        self
    }

    /// The wrapped object.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped object, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped object, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// Unwraps the object.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for TowerIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TowerIo")
            .field("inner", &self.inner)
            .field("vectored", &self.vectored)
            .field("direct_reads", &self.direct.is_some())
            .finish()
    }
}

impl<S: RecvSocket> TowerIo<Async<S>> {
    /// Wraps a tower socket (`Async<TcpStream>`, `Async<UnixStream>`) the fastest way: hyper's
    /// reads `recv` straight into its own buffer ([`Async::poll_recv_uninit`]; [`TowerIo::new`]
    /// reads any `futures-io` type through a scratch buffer and copies), and hyper hands it
    /// several buffers per write (`writev`; [`with_vectored_writes`](Self::with_vectored_writes)).
    ///
    /// ```
    /// use std::net::{TcpListener, TcpStream};
    /// use tower_hyper::TowerIo;
    /// use tower_loop::{Async, EventLoop};
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.run_until_complete(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let stream = Async::<TcpStream>::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let io = TowerIo::socket(stream);
    ///     assert!(hyper::rt::Write::is_write_vectored(&io));
    /// })
    /// .unwrap();
    /// ```
    pub fn socket(inner: Async<S>) -> TowerIo<Async<S>> {
        TowerIo {
            inner,
            vectored: true,
            direct: Some(Async::<S>::poll_recv_uninit),
        }
    }
}

/// The largest read one `poll_read` makes (the scratch buffer's length).
const SCRATCH_LEN: usize = 64 * 1024;

thread_local! {
    /// A zeroed buffer per thread that reads go through (taken out while in use, so a nested
    /// read on the same thread gets a fresh one instead of a borrow error).
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

impl<T: AsyncRead> hyper::rt::Read for TowerIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if let Some(direct) = *this.direct {
            // SAFETY: `as_mut` asks that no initialised byte of the window be de-initialised:
            // `direct` writes only bytes read (`DirectRead`'s contract) and never uninit ones.
            let window = unsafe { buf.as_mut() };
            let len = window.len();
            let n = ready!(direct(this.inner.as_ref().get_ref(), cx, window))?;
            assert!(
                n <= len,
                "a direct read reported more bytes than it was given"
            );
            // SAFETY: `advance(n)` asks that the next `n` bytes be initialised: `direct` just
            // wrote them (`Ready(Ok(n))`, and `n` is within the window, checked above).
            unsafe { buf.advance(n) };
            return Poll::Ready(Ok(()));
        }
        let want = buf.remaining().min(SCRATCH_LEN);
        let mut scratch = SCRATCH.try_with(Cell::take).unwrap_or_default();
        if scratch.len() < SCRATCH_LEN {
            // Once per thread (calloc'd pages).
            scratch = vec![0; SCRATCH_LEN];
        }
        let res = this.inner.poll_read(cx, &mut scratch[..want]);
        let res = match res {
            Poll::Ready(Ok(n)) => {
                assert!(
                    n <= want,
                    "AsyncRead::poll_read reported more bytes than it was given"
                );
                buf.put_slice(&scratch[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        };
        let _ = SCRATCH.try_with(|s| s.set(scratch));
        res
    }
}

impl<T: AsyncWrite> hyper::rt::Write for TowerIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }
}
