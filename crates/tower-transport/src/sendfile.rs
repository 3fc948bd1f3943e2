//! [`SocketTransport::sendfile`] and its future [`Sendfile`] (asyncio's `loop.sendfile` on a
//! socket transport: `_sendfile_native`, `_sock_sendfile_native`, `_sendfile_fallback`): the
//! write buffer drains, then `sendfile(2)` runs on writability, or a read/write fallback where
//! the kernel cannot (a pipe as the source, `EINVAL`...). Protocol writes are refused and
//! reading is paused while it runs (asyncio's), reading resumes after it if it was on before.

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io::{self, Seek, SeekFrom};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use rustix::fs::FileType;
use rustix::io::Errno;

use crate::socket::SocketTransport;
use crate::stream_core::StreamCore;

/// The most one `sendfile(2)` call is asked for (Linux sends at most `0x7ffff000` per call).
const NATIVE_MAX: usize = 0x7fff_f000;

/// The fallback's block: read from the file, then written (asyncio reads 16 KiB blocks).
const FALLBACK_BLOCK: usize = 64 * 1024;

/// System calls one poll makes at most before it yields to the loop (a fast peer must not keep
/// the loop in one `sendfile` for a whole file).
const CALLS_PER_POLL: usize = 16;

impl SocketTransport {
    /// Sends `count` bytes of `file` (to its end if `None`) from `offset` through the
    /// transport, as asyncio's `loop.sendfile(transport, file, offset, count)`: waits for the
    /// write buffer to drain, then sends with `sendfile(2)` (no copy through user space) each
    /// time the socket is writable; where the kernel cannot (`file` is not a regular file, or
    /// the first `sendfile(2)` fails: `EINVAL`, `ENOSYS`...) it reads `file` in 64 KiB blocks
    /// and writes them (the fallback; [`Sendfile::no_fallback`] refuses it instead). Resolves
    /// to the bytes sent; `file`'s position is then `offset` + that (as asyncio's `seek`).
    ///
    /// While it runs, [`write`](crate::WriteTransport::write) and `writelines` are refused
    /// with [`WriteError::SendfileInProgress`](crate::WriteError::SendfileInProgress);
    /// reading is paused, as asyncio's `_sendfile_native` and `_sendfile_fallback` do (what
    /// the peer sends meanwhile reaches `data_received` after it), and resumed when it ends
    /// only if the transport was reading when it started (one paused before stays paused);
    /// `close` and `write_eof` wait for it to end, as for buffered data; `abort` or a socket
    /// error ends it with an error.
    ///
    /// A source that is not a regular file (a pipe) is read from its current position
    /// (`offset` must be 0) when the loop says it is readable; a regular file is read on the
    /// loop's thread by the fallback (asyncio reads in the executor).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-way stops between two system calls: the bytes already given to
    /// the kernel (and, by the fallback, to the write buffer, which still drains) stay sent,
    /// `file`'s position is advanced past them as at completion, and the transport is usable
    /// again at once: writes are accepted, a `close` or `write_eof` made meanwhile completes.
    ///
    /// # Errors
    ///
    /// The transport is closing (or closes during the send: `ConnectionAborted`), another
    /// `sendfile` runs on it, `file` is not readable, a socket error (`EPIPE`...), or
    /// `Unsupported` with [`Sendfile::no_fallback`] where the kernel cannot.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use std::rc::Rc;
    /// use tower_loop::EventLoop;
    /// use tower_transport::{SocketTransport, StreamEvents};
    ///
    /// struct Quiet;
    /// impl StreamEvents for Quiet {}
    ///
    /// let mut file = tempfile();
    /// file.write_all(b"0123456789").unwrap();
    /// let lp = EventLoop::new().unwrap();
    /// let (ours, mut theirs) = UnixStream::pair().unwrap();
    /// let t = SocketTransport::new(&lp, ours, Rc::new(RefCell::new(Quiet))).unwrap();
    /// let sent = lp.run_until_complete(t.sendfile(&file, 2, Some(5))).unwrap().unwrap();
    /// assert_eq!(sent, 5);
    /// let mut got = [0; 5];
    /// theirs.read_exact(&mut got).unwrap();
    /// assert_eq!(&got, b"23456");
    /// lp.close().unwrap();
    /// # fn tempfile() -> std::fs::File {
    /// #     let path = std::env::temp_dir().join(format!("sendfile-doc-{}", std::process::id()));
    /// #     let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    /// #     std::fs::remove_file(&path).unwrap();
    /// #     f
    /// # }
    /// ```
    pub fn sendfile<'f>(&self, file: &'f File, offset: u64, count: Option<u64>) -> Sendfile<'f> {
        Sendfile {
            core: self.0.clone(),
            file,
            offset,
            count,
            sent: 0,
            fallback: true,
            force_fallback: false,
            state: State::Start,
            resume_reading: false,
            block: Vec::new(),
            source: None,
        }
    }
}

/// Where a [`Sendfile`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not polled yet.
    Start,
    /// Waiting for the write buffer to drain, then `sendfile(2)`.
    Native,
    /// Reading and writing blocks.
    Fallback,
    /// Finished (its result returned) or failed.
    Done,
}

/// Readiness of a non-regular source (a pipe) for the fallback: the reader callback sets
/// `ready` and wakes the task. It stays registered from block to block while the fallback
/// waits for the source, and is removed only while it waits for the socket (the loop would
/// call it each iteration the pipe holds data) and at the end.
struct SourceWait {
    /// The loop said readable since the last read (a blocking pipe is read only then).
    ready: Cell<bool>,
    /// The reader callback is registered.
    registered: Cell<bool>,
    /// The task to wake.
    waker: Cell<Option<Waker>>,
}

/// The future of [`SocketTransport::sendfile`]: resolves to the bytes sent. Dropping it
/// mid-way leaves the transport usable (see [`SocketTransport::sendfile`]).
#[must_use = "futures do nothing unless polled"]
pub struct Sendfile<'f> {
    /// The transport's core.
    core: Rc<StreamCore>,
    /// The source.
    file: &'f File,
    /// Where in `file` sending starts.
    offset: u64,
    /// How many bytes at most (`None`: to the end of the file).
    count: Option<u64>,
    /// Bytes sent so far (given to the kernel, or to the write buffer by the fallback).
    sent: u64,
    /// Whether the fallback may run (asyncio's `fallback=True`).
    fallback: bool,
    /// Straight to the fallback ([`Sendfile::fallback_only`]).
    force_fallback: bool,
    /// Where it is.
    state: State,
    /// The transport was reading when the send started: reading resumes when it ends
    /// (asyncio's `resume_reading = transp.is_reading()`).
    resume_reading: bool,
    /// The fallback's block (allocated when the fallback starts).
    block: Vec<u8>,
    /// The readiness wait of a non-regular source (`None`: a regular file, read with `pread`).
    source: Option<Rc<SourceWait>>,
}

impl fmt::Debug for Sendfile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sendfile")
            .field("offset", &self.offset)
            .field("count", &self.count)
            .field("sent", &self.sent)
            .field("state", &self.state)
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl Sendfile<'_> {
    /// asyncio's `fallback=False`: where native `sendfile(2)` cannot send this file, fail with
    /// `Unsupported` instead of reading and writing.
    pub fn no_fallback(mut self) -> Self {
        self.fallback = false;
        self
    }

    /// Skips native `sendfile(2)` and reads and writes (asyncio's tests patch
    /// `_sendfile_native` for this; the fallback of a regular file is otherwise reached only
    /// where the kernel refuses it). For tests.
    #[doc(hidden)]
    pub fn fallback_only(mut self) -> Self {
        self.force_fallback = true;
        self
    }

    /// Bytes still to send (`None`: to the end of the file).
    fn remaining(&self) -> Option<u64> {
        self.count.map(|c| c - self.sent)
    }

    /// The first poll: checks, claims the transport, picks the path.
    fn start(&mut self) -> io::Result<()> {
        if self.core.is_closing() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the transport is closing",
            ));
        }
        let regular =
            FileType::from_raw_mode(rustix::fs::fstat(self.file)?.st_mode) == FileType::RegularFile;
        if !regular && self.offset != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sendfile from a file that cannot seek (a pipe) takes offset 0",
            ));
        }
        if !self.core.begin_sendfile() {
            return Err(io::Error::other(
                "a sendfile is already in progress on this transport",
            ));
        }
        self.state = State::Native;
        // asyncio's: reading pauses for the send, and resumes after it if it was on.
        self.resume_reading = self.core.is_reading();
        self.core.pause_reading();
        if !regular || self.force_fallback {
            self.enter_fallback()?;
        }
        Ok(())
    }

    /// Switches to the fallback (or fails without it).
    fn enter_fallback(&mut self) -> io::Result<()> {
        if !self.fallback {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "native sendfile cannot send this file and the fallback is disabled",
            ));
        }
        let regular =
            FileType::from_raw_mode(rustix::fs::fstat(self.file)?.st_mode) == FileType::RegularFile;
        if !regular {
            self.source = Some(Rc::new(SourceWait {
                ready: Cell::new(false),
                registered: Cell::new(false),
                waker: Cell::new(None),
            }));
        }
        self.block = vec![0; FALLBACK_BLOCK];
        self.state = State::Fallback;
        Ok(())
    }

    /// `sendfile(2)` until the socket would block, the count is reached or the file ends.
    fn poll_native(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        if !self.core.buffer_drained() {
            // The protocol's earlier writes go first.
            self.check_open()?;
            self.core.wait_sendfile(cx.waker(), false);
            return Poll::Pending;
        }
        for _ in 0..CALLS_PER_POLL {
            let want = match self.remaining() {
                Some(0) => return Poll::Ready(Ok(self.sent)),
                Some(n) => n.min(NATIVE_MAX as u64) as usize,
                None => NATIVE_MAX,
            };
            let mut pos = self.offset + self.sent;
            let file = self.file;
            let r = self
                .core
                .sendfile_fd(|sock| Ok(native_sendfile(sock, file, &mut pos, want)));
            match r? {
                Ok(0) => return Poll::Ready(Ok(self.sent)),
                Ok(n) => self.sent += n as u64,
                Err(Errno::INTR) => {}
                Err(e) if e == Errno::AGAIN || e == Errno::WOULDBLOCK => {
                    self.core.wait_sendfile(cx.waker(), true);
                    return Poll::Pending;
                }
                // asyncio's rule: a failure before the first byte means the kernel cannot
                // send this file (EINVAL, ENOSYS, EOPNOTSUPP...): fall back.
                Err(_) if self.sent == 0 => {
                    self.enter_fallback()?;
                    return self.poll_fallback(cx);
                }
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Reads a block and writes it, each time the write buffer has drained.
    fn poll_fallback(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        for _ in 0..CALLS_PER_POLL {
            // The transport may have closed (or been aborted).
            self.check_open()?;
            if !self.core.buffer_drained() {
                // Waiting for the socket, not the source: its reader would run each
                // iteration the source holds data.
                self.stop_source_reader();
                self.core.wait_sendfile(cx.waker(), false);
                return Poll::Pending;
            }
            let want = match self.remaining() {
                Some(0) => return Poll::Ready(Ok(self.sent)),
                Some(n) => n.min(FALLBACK_BLOCK as u64) as usize,
                None => FALLBACK_BLOCK,
            };
            let read = match &self.source {
                None => {
                    rustix::io::pread(self.file, &mut self.block[..want], self.offset + self.sent)
                }
                Some(wait) => {
                    if !wait.ready.replace(false) {
                        self.wait_source(cx)?;
                        return Poll::Pending;
                    }
                    rustix::io::read(self.file, &mut self.block[..want])
                }
            };
            match read {
                Ok(0) => return Poll::Ready(Ok(self.sent)),
                Ok(n) => {
                    self.core.write_unchecked(&self.block[..n]);
                    self.sent += n as u64;
                }
                Err(Errno::INTR) => {}
                Err(e) if e == Errno::AGAIN || e == Errno::WOULDBLOCK => {
                    self.wait_source(cx)?;
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// An error once the transport's connection is lost (or due).
    fn check_open(&self) -> io::Result<()> {
        self.core.sendfile_fd(|_| Ok(()))
    }

    /// Removes a non-regular source's reader callback, if registered.
    fn stop_source_reader(&self) {
        if let Some(wait) = &self.source {
            if wait.registered.replace(false) {
                let _ = self.core.event_loop().remove_reader(self.file);
            }
        }
    }

    /// Waits for a non-regular source to be readable: the reader callback (registered now
    /// unless it already is) marks it ready and wakes the task.
    fn wait_source(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(wait) = &self.source else {
            return Ok(());
        };
        wait.waker.set(Some(cx.waker().clone()));
        if !wait.registered.get() {
            let w = wait.clone();
            self.core.event_loop().add_reader(self.file, move || {
                w.ready.set(true);
                if let Some(waker) = w.waker.take() {
                    waker.wake();
                }
            })?;
            wait.registered.set(true);
        }
        Ok(())
    }

    /// Ends the send (done, failed or dropped): the source's reader goes, the transport
    /// takes writes again and reads again if it did before, the file position moves past
    /// what was sent.
    fn finish(&mut self) {
        if self.state == State::Done {
            return;
        }
        let started = self.state != State::Start;
        self.state = State::Done;
        self.stop_source_reader();
        if let Some(wait) = &self.source {
            drop(wait.waker.take());
        }
        if started {
            self.core.end_sendfile();
            if self.resume_reading {
                self.core.resume_reading();
            }
        }
        if self.sent > 0 && self.source.is_none() {
            let _ = (&*self.file).seek(SeekFrom::Start(self.offset + self.sent));
        }
    }
}

impl Future for Sendfile<'_> {
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        if this.state == State::Start {
            if let Err(e) = this.start() {
                this.finish();
                return Poll::Ready(Err(e));
            }
        }
        let r = match this.state {
            State::Native => this.poll_native(cx),
            State::Fallback => this.poll_fallback(cx),
            State::Start | State::Done => {
                Poll::Ready(Err(io::Error::other("Sendfile polled after it completed")))
            }
        };
        if let Poll::Ready(r) = r {
            this.finish();
            return Poll::Ready(r);
        }
        r
    }
}

impl Drop for Sendfile<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `sendfile(2)` from `file` at `*pos` to `sock`; where the kernel has none (not Linux),
/// `ENOSYS` before the first byte, so [`Sendfile`] takes the read/write fallback.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn native_sendfile(
    sock: std::os::fd::BorrowedFd<'_>,
    file: &File,
    pos: &mut u64,
    want: usize,
) -> rustix::io::Result<usize> {
    rustix::fs::sendfile(sock, file, Some(pos), want)
}

/// `sendfile(2)` from `file` at `*pos` to `sock`; where the kernel has none (not Linux),
/// `ENOSYS` before the first byte, so [`Sendfile`] takes the read/write fallback.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn native_sendfile(
    _sock: std::os::fd::BorrowedFd<'_>,
    _file: &File,
    _pos: &mut u64,
    _want: usize,
) -> rustix::io::Result<usize> {
    Err(Errno::NOSYS)
}
