//! [`Async`]: a waker-based readiness source for futures (like async-io's `Async<T>`).
//!
//! The fd is registered once, edge-triggered for both directions, with the loop that was running
//! when it was created; readiness is cached until an operation reports `WouldBlock`. An `Async`
//! is `Send`: it may be polled from any thread (the multi-threaded runtime moves tasks); its
//! events are delivered by the loop it was registered with, which must keep running — or, if
//! that loop is a member of an [`IoDriver`](crate::IoDriver) (a multi-thread runtime's worker),
//! it is registered with the driver and its events are delivered by whichever member polls it.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::context;
use crate::loop_handle::LoopHandle;
use crate::reactor::driver::IoDriver;
use crate::reactor::{Poller, READ, SharedSources, Source, WRITE};

/// An I/O object registered with an event loop for readiness (asyncio has no direct
/// counterpart; tier 5 uses it for pipes and pidfds, tier 7 for sockets in tasks).
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use tower_loop::{Async, EventLoop};
///
/// let lp = EventLoop::new().unwrap();
/// let n = lp.run_until_complete(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let a = Async::new(a).unwrap();
///     let b = Async::new(b).unwrap();
///     b.write_with(|mut s| s.write(b"ping")).await.unwrap();
///     let mut buf = [0; 8];
///     a.read_with(|mut s| s.read(&mut buf)).await.unwrap()
/// })
/// .unwrap();
/// assert_eq!(n, 4);
/// ```
pub struct Async<T: AsFd> {
    /// The registration.
    source: Arc<Source>,
    /// The loop it is registered with.
    handle: LoopHandle,
    /// The driver it is registered with instead, if that loop had one when it was made.
    driver: Option<Arc<IoDriver>>,
    /// The I/O object; `None` only after `into_inner`.
    io: Option<T>,
}

impl<T: AsFd> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async")
            .field("fd", &self.source.fd)
            .finish()
    }
}

impl<T: AsFd> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with the running loop.
    ///
    /// # Errors
    ///
    /// If no loop is running on this thread, or the OS refuses the registration.
    pub fn new(io: T) -> io::Result<Async<T>> {
        let core =
            context::current().ok_or_else(|| io::Error::other(crate::error::NoRunningLoop))?;
        let handle = LoopHandle::from_shared(core.shared().clone());
        Self::with_handle(io, &handle)
    }

    /// Puts `io` in non-blocking mode and registers it with the loop of `handle`.
    ///
    /// # Errors
    ///
    /// If the loop is closed, or the OS refuses the registration.
    pub fn with_handle(io: T, handle: &LoopHandle) -> io::Result<Async<T>> {
        if handle.is_closed() {
            return Err(closed());
        }
        rustix::io::ioctl_fionbio(io.as_fd(), true)?;
        let driver = handle.shared().io_driver().map(|(d, _)| d.clone());
        let (sources, poller) = registry(handle, driver.as_ref());
        let source = sources.insert(poller, io.as_fd().as_raw_fd())?;
        Ok(Async {
            source,
            handle: handle.clone(),
            driver,
            io: Some(io),
        })
    }

    /// The I/O object.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("io is present until into_inner")
    }

    /// Deregisters and returns the I/O object (still non-blocking).
    ///
    /// # Errors
    ///
    /// None today; kept for parity with async-io.
    pub fn into_inner(mut self) -> io::Result<T> {
        self.deregister();
        Ok(self.io.take().expect("io is present until into_inner"))
    }

    /// Waits until the object is readable (readiness is cached until an operation through
    /// [`read_with`](Self::read_with) reports `WouldBlock`).
    pub fn readable(&self) -> Readiness<'_, T> {
        Readiness {
            io: self,
            dir: READ,
        }
    }

    /// Waits until the object is writable.
    pub fn writable(&self) -> Readiness<'_, T> {
        Readiness {
            io: self,
            dir: WRITE,
        }
    }

    /// Polls for readability.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(READ, cx).map_ok(|_| ())
    }

    /// Polls for writability.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(WRITE, cx).map_ok(|_| ())
    }

    /// Runs `op` until it does not report `WouldBlock`, waiting for readability in between.
    /// The operation is tried first. Dropping the future cancels the wait; `op` is not running
    /// then, so nothing is half-done.
    ///
    /// # Errors
    ///
    /// What `op` returns, or a closed-loop error.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.io_with(READ, |io| op(io)).await
    }

    /// Runs `op` until it does not report `WouldBlock`, waiting for writability in between.
    ///
    /// # Errors
    ///
    /// What `op` returns, or a closed-loop error.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.io_with(WRITE, |io| op(io)).await
    }

    /// The loop this object is registered with.
    pub fn loop_handle(&self) -> &LoopHandle {
        &self.handle
    }

    /// Removes the registration.
    fn deregister(&self) {
        let (sources, poller) = registry(&self.handle, self.driver.as_ref());
        sources.remove(poller, &self.source);
    }

    /// Try `op`; on `WouldBlock`, clear the cached readiness (unless an event came meanwhile)
    /// and wait for the next one.
    async fn io_with<R>(&self, dir: u8, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut tick = self.source.waiters.tick();
        loop {
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                res => return res,
            }
            self.source.waiters.clear(dir, tick);
            tick = Readiness { io: self, dir }.await_tick().await?;
        }
    }

    /// Ready with the tick at which `dir` was seen ready. Pending registers the task until the
    /// next event of `dir`, even if the future polling this is then dropped (a poll-style caller
    /// may make, poll and drop one per poll).
    fn poll_ready(&self, dir: u8, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        match self.source.waiters.poll_ready(dir, cx.waker()) {
            Poll::Ready(tick) => Poll::Ready(Ok(tick)),
            // Pending on a closed loop would be forever: report it instead (the registration
            // goes with the source).
            Poll::Pending if self.handle.is_closed() => Poll::Ready(Err(closed())),
            Poll::Pending => Poll::Pending,
        }
    }
    /// Polls `op` on the I/O object in direction `dir` (`READ` or `WRITE`) until it does not
    /// report `WouldBlock`: tried first, then, after `WouldBlock`, the cached readiness is
    /// cleared (unless an event came meanwhile) and the task registered for the next event.
    /// The poll-style core of the `futures-io` impls (`async_io_traits.rs`).
    pub(crate) fn poll_io_ref<R>(
        &self,
        dir: u8,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_ref().expect("io is present until into_inner");
        poll_io(&self.source, &self.handle, dir, cx, || op(io))
    }

    /// [`poll_io_ref`](Self::poll_io_ref) with the I/O object borrowed mutably (for
    /// `T: Read`/`Write` rather than `&T: Read`/`Write`).
    pub(crate) fn poll_io_mut<R>(
        &mut self,
        dir: u8,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_mut().expect("io is present until into_inner");
        poll_io(&self.source, &self.handle, dir, cx, || op(io))
    }
}

/// The loop of [`Async::poll_io_ref`]: try, clear readiness on `WouldBlock`, wait for the next
/// event of `dir` (a closed loop reports an error instead of waiting forever).
fn poll_io<R>(
    source: &Source,
    handle: &LoopHandle,
    dir: u8,
    cx: &mut Context<'_>,
    mut op: impl FnMut() -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        let tick = source.waiters.tick();
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            res => return Poll::Ready(res),
        }
        source.waiters.clear(dir, tick);
        match source.waiters.poll_ready(dir, cx.waker()) {
            Poll::Ready(_) => {}
            Poll::Pending if handle.is_closed() => return Poll::Ready(Err(closed())),
            Poll::Pending => return Poll::Pending,
        }
    }
}

// An `Async` never pins its I/O object (nothing is projected through a pin), so it may move
// while pinned whatever `T` is, as async-io's `Async` does; the `futures-io` impls rely on it.
impl<T: AsFd> Unpin for Async<T> {}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            self.deregister();
        }
    }
}

/// Where a source of the loop of `handle` is registered: with `driver` if it has one, else
/// with the loop itself.
fn registry<'a>(
    handle: &'a LoopHandle,
    driver: Option<&'a Arc<IoDriver>>,
) -> (&'a SharedSources, &'a Poller) {
    match driver {
        Some(d) => (d.sources(), d.poller()),
        None => (handle.shared().sources(), handle.shared().poller()),
    }
}

/// The error of an operation on a closed loop.
fn closed() -> io::Error {
    io::Error::other(crate::error::RunError::Closed)
}

/// Future of [`Async::readable`] / [`Async::writable`]. Once polled, its task stays registered
/// until the next event of its direction, even if it is dropped (at most a spurious wake-up).
#[must_use = "futures do nothing unless awaited"]
pub struct Readiness<'a, T: AsFd> {
    /// The source.
    io: &'a Async<T>,
    /// `READ` or `WRITE`.
    dir: u8,
}

impl<T: AsFd> fmt::Debug for Readiness<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("readable", &(self.dir == READ))
            .finish()
    }
}

impl<'a, T: AsFd> Readiness<'a, T> {
    /// Resolves to the readiness tick.
    fn await_tick(self) -> impl Future<Output = io::Result<u64>> + 'a {
        std::future::poll_fn(move |cx| self.io.poll_ready(self.dir, cx))
    }
}

impl<T: AsFd> Future for Readiness<'_, T> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(self.dir, cx).map_ok(|_| ())
    }
}
