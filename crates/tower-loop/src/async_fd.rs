//! [`Async`]: a waker-based readiness source for futures (like async-io's `Async<T>`).
//!
//! The fd is registered once, edge-triggered for both directions, with the loop that was running
//! when it was created; readiness is cached until an operation reports `WouldBlock`. An `Async`
//! is `Send`: it may be polled from any thread (the multi-threaded runtime moves tasks); its
//! events are delivered by the loop it was registered with, which must keep running — or, if
//! that loop is a member of an [`IoDriver`](crate::IoDriver) (a multi-thread runtime's worker),
//! it is registered with the driver and its events are delivered by whichever member polls it.
//!
//! **Short reads of stream sockets.** When `T` is one of std's stream sockets (`TcpStream`,
//! `UnixStream`: a `read` is one `recv`), a `futures-io` read that returns fewer bytes than asked
//! used the kernel's bytes up, so it clears the cached readiness as `EAGAIN` would, and the next
//! read waits for the reactor's next event instead of making a `recv` that returns `EAGAIN`
//! (tokio's rule; the `sock_*` methods' `short` in `sock.rs`). Other types keep "try first":
//! a `T` whose `read` returns less than is buffered (a tty's line, std's `Stdin` with its own
//! buffer, a capped wrapper) would otherwise wait for an edge that never comes.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// `T` is one of std's stream sockets: a short read means the kernel had no more bytes
    /// (see the module docs).
    short_read_drains: bool,
    /// A short read cleared the read readiness and no read has seen it set since: the next
    /// read looks at the cached readiness before its `recv`. A hint only: with it stale, a
    /// read makes one `recv` too many (`EAGAIN`) or looks at the readiness once more.
    read_drained: AtomicBool,
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
            short_read_drains: is_std_stream_socket::<T>(),
            read_drained: AtomicBool::new(false),
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
    /// Polls `op` on the I/O object until it does not report `WouldBlock`: tried first, then,
    /// after `WouldBlock`, the cached readiness is cleared (unless an event came meanwhile) and
    /// the task registered for the next event of `op`'s direction; a read applies the short-read
    /// rule where `T` is a std stream socket (module docs). The poll-style core of the
    /// `futures-io` impls (`async_io_traits.rs`) and of [`poll_recv_uninit`](Self::poll_recv_uninit).
    pub(crate) fn poll_io_ref<R: Transferred>(
        &self,
        op: Op,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_ref().expect("io is present until into_inner");
        let rule = self.short_read_drains.then_some(&self.read_drained);
        poll_io(&self.source, &self.handle, rule, op, cx, || f(io))
    }

    /// [`poll_io_ref`](Self::poll_io_ref) with the I/O object borrowed mutably (for
    /// `T: Read`/`Write` rather than `&T: Read`/`Write`).
    pub(crate) fn poll_io_mut<R: Transferred>(
        &mut self,
        op: Op,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_mut().expect("io is present until into_inner");
        let rule = self.short_read_drains.then_some(&self.read_drained);
        poll_io(&self.source, &self.handle, rule, op, cx, || f(io))
    }
}

/// A poll-style operation of [`Async::poll_io_ref`]: its direction and, for a read, how many
/// bytes it asks for (the short-read rule compares what it got with that).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// A read of up to this many bytes.
    Read(usize),
    /// A write or a flush.
    Write,
}

impl Op {
    /// The reactor direction (`READ` or `WRITE`).
    fn dir(self) -> u8 {
        match self {
            Op::Read(_) => READ,
            Op::Write => WRITE,
        }
    }
}

/// What a poll-style operation returns: a byte count, or nothing (a flush).
pub(crate) trait Transferred {
    /// The bytes moved (`0` for a flush).
    fn bytes(&self) -> usize;
}

impl Transferred for usize {
    fn bytes(&self) -> usize {
        *self
    }
}

impl Transferred for () {
    fn bytes(&self) -> usize {
        0
    }
}

/// Whether `T` is one of std's stream sockets, whose `read` is one `recv` (so a short read
/// took all the kernel had). `TypeId` would need `T: 'static`, which `Async<T>` does not ask;
/// the type's name tells as well here. Should std's paths ever print otherwise, the answer is
/// `false`: the rule is then skipped (one `EAGAIN` read more), never wrongly applied (a test
/// checks the names). Only where the reactor reports end of stream apart (`RDHUP`, Linux and
/// Android's epoll): a short read of the bytes before the end must not hide the end, for which
/// no new edge comes.
fn is_std_stream_socket<T>() -> bool {
    cfg!(any(target_os = "linux", target_os = "android"))
        && matches!(
            std::any::type_name::<T>(),
            "std::net::tcp::TcpStream" | "std::os::unix::net::stream::UnixStream"
        )
}

/// The loop of [`Async::poll_io_ref`]: try, clear readiness on `WouldBlock`, wait for the next
/// event of `op`'s direction (a closed loop reports an error instead of waiting forever).
///
/// With `short_rule` (the `Async`'s flag, where `T` is a std stream socket) and `op` a read, a
/// read that returns fewer bytes than `op`
/// asked for (`sock.rs`'s `short`) clears the readiness too and sets the flag; while the flag
/// is set, a read first looks at the cached readiness and waits for the next event if it is not
/// set. No wake-up is lost: the readiness is only cleared when no event came since the read
/// began (the tick), and the look and the registration are one critical section.
fn poll_io<R: Transferred>(
    source: &Source,
    handle: &LoopHandle,
    short_rule: Option<&AtomicBool>,
    op: Op,
    cx: &mut Context<'_>,
    mut f: impl FnMut() -> io::Result<R>,
) -> Poll<io::Result<R>> {
    let dir = op.dir();
    let short_rule = short_rule.filter(|_| matches!(op, Op::Read(_)));
    let mut tick = match short_rule {
        Some(drained) if drained.load(Ordering::Relaxed) => {
            match source.waiters.poll_ready(dir, cx.waker()) {
                Poll::Ready(tick) => {
                    drained.store(false, Ordering::Relaxed);
                    tick
                }
                Poll::Pending if handle.is_closed() => return Poll::Ready(Err(closed())),
                Poll::Pending => return Poll::Pending,
            }
        }
        _ => source.waiters.tick(),
    };
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Ok(v) => {
                if let (Some(drained), Op::Read(asked)) = (short_rule, op) {
                    if crate::sock::short(v.bytes(), asked) {
                        source.waiters.clear_short(tick);
                        drained.store(true, Ordering::Relaxed);
                    }
                }
                return Poll::Ready(Ok(v));
            }
            res => return Poll::Ready(res),
        }
        source.waiters.clear(dir, tick);
        match source.waiters.poll_ready(dir, cx.waker()) {
            Poll::Ready(t) => tick = t,
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

#[cfg(test)]
mod tests {
    use super::is_std_stream_socket;

    /// The short-read rule finds std's stream sockets by their type names: if std ever printed
    /// them otherwise, this fails (the rule would be silently skipped).
    #[test]
    fn std_stream_sockets_are_known_by_name() {
        let on = cfg!(any(target_os = "linux", target_os = "android"));
        assert_eq!(is_std_stream_socket::<std::net::TcpStream>(), on);
        assert_eq!(is_std_stream_socket::<std::os::unix::net::UnixStream>(), on);
        assert!(!is_std_stream_socket::<std::net::UdpSocket>());
        assert!(!is_std_stream_socket::<std::fs::File>());
        assert!(!is_std_stream_socket::<&std::net::TcpStream>());
    }
}
