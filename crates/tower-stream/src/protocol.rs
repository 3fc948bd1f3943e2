//! [`StreamReaderProtocol`]: asyncio's `StreamReaderProtocol` and `FlowControlMixin` — the
//! [`BufferedProtocol`] between a transport and a [`StreamReader`]/[`StreamWriter`] pair —
//! and the state the three share ([`Core`]): the reader's buffer and waiter, the writer's
//! flow control and drain waiters, the connection's end.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

use tower_protocol::{Buffered, BufferedProtocol};
use tower_transport::{ReadTransport, StreamTransport};

use crate::buffer::ReadBuffer;
use crate::error::Stored;
use crate::reader::StreamReader;
use crate::writer::StreamWriter;

/// asyncio's `_DEFAULT_LIMIT`: 64 KiB.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// How a waiter's wait ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Still waiting.
    Pending,
    /// Resolved (`set_result(None)`).
    Ok,
    /// Resolved with an exception.
    Err(Stored),
}

/// Waiters that all wake together (drain, wait_closed), each keyed by a token its future keeps.
#[derive(Default)]
pub(crate) struct Waiters(Vec<(u64, Waker, Outcome)>);

impl Waiters {
    /// Registers or refreshes `token`'s waker; returns its outcome so far.
    pub(crate) fn poll(&mut self, token: u64, waker: &Waker) -> Outcome {
        if let Some(w) = self.0.iter_mut().find(|w| w.0 == token) {
            if !matches!(w.2, Outcome::Pending) {
                let out = w.2.clone();
                self.remove(token);
                return out;
            }
            if !w.1.will_wake(waker) {
                w.1 = waker.clone();
            }
            return Outcome::Pending;
        }
        self.0.push((token, waker.clone(), Outcome::Pending));
        Outcome::Pending
    }

    /// Forgets `token` (its future is done or dropped).
    pub(crate) fn remove(&mut self, token: u64) {
        self.0.retain(|w| w.0 != token);
    }

    /// Resolves every pending waiter with `outcome`; returns the wakers to wake once the
    /// state is no longer borrowed.
    #[must_use]
    pub(crate) fn resolve(&mut self, outcome: &Outcome) -> Vec<Waker> {
        let mut wake = Vec::new();
        for w in &mut self.0 {
            if matches!(w.2, Outcome::Pending) {
                w.2 = outcome.clone();
                wake.push(w.1.clone());
            }
        }
        wake
    }
}

/// The one read allowed to wait for data (asyncio's `_waiter`).
pub(crate) struct ReadWaiter {
    /// The waiting future's token.
    pub(crate) token: u64,
    /// Its waker.
    pub(crate) waker: Waker,
}

/// What the protocol, the reader and the writer share.
pub(crate) struct Core {
    // --- the reader (asyncio's StreamReader) ---
    /// The bytes received and not yet read (a direct read's, then the buffer's), and what of
    /// them is lent to the transport.
    pub(crate) buf: ReadBuffer,
    /// Whether a read that must wait may start a direct read: `true` at first and whenever
    /// the transport asks `get_buffer_uninit`; `false` once bytes for a direct read arrived
    /// another way (a `get_buffer` read — a TLS layer's — or `feed_data`), so a reader fed
    /// that way does not move its bytes into a direct read and back at every chunk.
    pub(crate) direct_ok: bool,
    /// Line and separator limit; half the pause threshold.
    pub(crate) limit: usize,
    /// `feed_eof` ran.
    pub(crate) eof: bool,
    /// `set_exception` (or `connection_lost` with an error) ran.
    pub(crate) exception: Option<Stored>,
    /// The read waiting for data.
    pub(crate) waiter: Option<ReadWaiter>,
    /// The token of a read whose wait `set_exception` ended (it raises on its next poll).
    pub(crate) waiter_failed: Option<u64>,
    /// The transport, to pause and resume reading.
    pub(crate) transport: Option<StreamTransport>,
    /// Reading is paused by us (buffer above 2 × limit).
    pub(crate) paused: bool,
    /// Tokens for waiting futures.
    pub(crate) next_token: u64,
    // --- the writer's flow control (asyncio's FlowControlMixin) ---
    /// `pause_writing` ran, `resume_writing` not yet.
    pub(crate) write_paused: bool,
    /// `connection_lost` ran.
    pub(crate) lost: bool,
    /// `drain` futures waiting for `resume_writing`.
    pub(crate) drain_waiters: Waiters,
    /// asyncio's `_closed` future: `Some` once the connection is lost.
    pub(crate) closed: Option<Outcome>,
    /// `wait_closed` futures.
    pub(crate) closed_waiters: Waiters,
}

/// The shared state's handle.
pub(crate) type Shared = Rc<RefCell<Core>>;

impl Core {
    /// A reader's state with `limit`.
    pub(crate) fn new(limit: usize) -> Core {
        Core {
            buf: ReadBuffer::default(),
            direct_ok: true,
            limit,
            eof: false,
            exception: None,
            waiter: None,
            waiter_failed: None,
            transport: None,
            paused: false,
            next_token: 1,
            write_paused: false,
            lost: false,
            drain_waiters: Waiters::default(),
            closed: None,
            closed_waiters: Waiters::default(),
        }
    }

    /// A fresh token.
    pub(crate) fn token(&mut self) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        t
    }

    /// asyncio's `_wakeup_waiter`: the waiting read's waker, its wait over.
    pub(crate) fn wakeup_waiter(&mut self) -> Option<Waker> {
        self.waiter.take().map(|w| w.waker)
    }

    /// Bytes received and not yet read: the direct read's and the buffer's.
    #[inline]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len() + self.buf.direct_len()
    }

    /// asyncio's `feed_eof`.
    pub(crate) fn feed_eof(&mut self) -> Option<Waker> {
        self.eof = true;
        self.wakeup_waiter()
    }

    /// asyncio's `set_exception`.
    pub(crate) fn set_exception(&mut self, exc: Stored) -> Option<Waker> {
        self.buf.end_direct();
        self.exception = Some(exc);
        let w = self.waiter.take()?;
        self.waiter_failed = Some(w.token);
        Some(w.waker)
    }

    /// After bytes arrived: pause the transport above 2 × limit (asyncio's `feed_data`).
    /// Returns the transport to pause, to call once the state is not borrowed.
    pub(crate) fn should_pause(&mut self) -> Option<StreamTransport> {
        if self.paused || self.buffered() <= 2 * self.limit {
            return None;
        }
        let t = self.transport.clone()?;
        self.paused = true;
        Some(t)
    }

    /// After bytes were read: resume the transport at or below limit (asyncio's
    /// `_maybe_resume_transport`). Returns the transport to resume.
    pub(crate) fn should_resume(&mut self) -> Option<StreamTransport> {
        if self.paused && self.buffered() <= self.limit {
            self.paused = false;
            return self.transport.clone();
        }
        None
    }

    /// Before waiting for data: resume a paused transport whatever the buffer holds (asyncio's
    /// `_wait_for_data`: waiting while paused would deadlock, as `readexactly(n > limit)`).
    pub(crate) fn resume_to_wait(&mut self) -> Option<StreamTransport> {
        if self.paused {
            self.paused = false;
            return self.transport.clone();
        }
        None
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("buffered", &self.buffered())
            .field("direct", &self.buf.direct_progress())
            .field("capacity", &self.buf.capacity())
            .field("limit", &self.limit)
            .field("eof", &self.eof)
            .field("exception", &self.exception)
            .field("waiting", &self.waiter.is_some())
            .field("paused", &self.paused)
            .field("transport", &self.transport.is_some())
            .finish()
    }
}

/// Wakes `wakers` (after the state's borrow is dropped: never wake under a borrow).
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// What `start_server` does with each connection: builds the reader/writer pair and spawns
/// the client's task.
pub(crate) type OnConnect = Box<dyn FnOnce(StreamReader, StreamWriter)>;

/// asyncio's `StreamReaderProtocol`: the [`BufferedProtocol`] that feeds a [`StreamReader`]
/// (the transport reads straight into the reader's buffer) and gives its [`StreamWriter`]
/// flow control (`pause_writing`/`resume_writing` wake `drain`) and the connection's end
/// (`connection_lost` ends the reader and resolves `wait_closed`).
///
/// [`open_connection`](crate::open_connection) and [`start_server`](crate::start_server) make
/// it for you. Use it directly to put a reader on a transport made another way, for example a
/// pipe:
///
/// ```
/// use std::os::fd::OwnedFd;
/// use tower_protocol::connect_read_pipe;
/// use tower_stream::{StreamReader, StreamReaderProtocol};
///
/// let (r, w) = rustix::pipe::pipe().unwrap();
/// tower_task::run(async move {
///     let (_transport, protocol) =
///         connect_read_pipe(|| StreamReaderProtocol::new(64 * 1024).unwrap(), OwnedFd::from(r))
///             .await
///             .unwrap();
///     let reader = StreamReader::from_protocol(&protocol);
///     rustix::io::write(&w, b"line one\nline two\n").unwrap();
///     drop(w);
///     assert_eq!(reader.readline().await.unwrap(), b"line one\n");
///     assert_eq!(reader.read_to_end().await.unwrap(), b"line two\n");
/// })
/// .unwrap();
/// ```
pub struct StreamReaderProtocol {
    /// The shared state.
    pub(crate) core: Shared,
    /// `start_server`'s per-connection callback, taken by `connection_made`.
    pub(crate) on_connect: Option<OnConnect>,
}

impl StreamReaderProtocol {
    /// A protocol for a new reader with `limit` (asyncio's
    /// `StreamReaderProtocol(StreamReader(limit))`), wrapped for a transport ([`Buffered`]).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `limit` is 0 (asyncio's `ValueError('Limit cannot be <= 0')`).
    pub fn new(limit: usize) -> io::Result<Buffered<StreamReaderProtocol>> {
        check_limit(limit)?;
        Ok(Buffered(StreamReaderProtocol {
            core: Rc::new(RefCell::new(Core::new(limit))),
            on_connect: None,
        }))
    }
}

/// `InvalidInput` for a zero limit.
pub(crate) fn check_limit(limit: usize) -> io::Result<()> {
    if limit == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a stream's limit cannot be 0",
        ));
    }
    Ok(())
}

impl fmt::Debug for StreamReaderProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReaderProtocol")
            .field("reader", &self.core.try_borrow().ok())
            .field("server_side", &self.on_connect.is_some())
            .finish()
    }
}

impl BufferedProtocol for StreamReaderProtocol {
    fn connection_made(&mut self, transport: StreamTransport) {
        self.core.borrow_mut().transport = Some(transport.clone());
        if let Some(on_connect) = self.on_connect.take() {
            let reader = StreamReader::from_core(self.core.clone());
            let writer = StreamWriter::from_parts(transport, self.core.clone()).server_side();
            on_connect(reader, writer);
        }
    }

    fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
        let (ptr, len) = {
            let mut core = self.core.borrow_mut();
            if core.buf.direct_lendable() {
                // This transport does not read into uninitialised memory (a TLS layer): no
                // more direct reads until one asks `get_buffer_uninit`.
                core.direct_ok = false;
            }
            core.buf.lend()
        };
        // `lend` hands out `[end, len)` of the buffer's allocation, and from now until the next
        // call of a `&mut self` method of this protocol (which the returned borrow must end
        // before) the buffer neither reads nor writes those bytes, nor moves or frees the
        // allocation: a `feed` meanwhile moves the data to a new allocation and keeps this one
        // alive in `retired` (buffer.rs, the `Loan::Tail` invariant).
        // SAFETY: by that invariant the `len` initialised bytes at `ptr` are alive (`self.core`
        // keeps the buffer) and touched by nothing else while the returned borrow lives.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }

    fn buffer_updated(&mut self, nbytes: usize) {
        let (waker, pause) = {
            let mut core = self.core.borrow_mut();
            core.buf.filled(nbytes);
            if nbytes == 0 {
                return;
            }
            (core.wakeup_waiter(), core.should_pause())
        };
        if let Some(t) = pause {
            t.pause_reading();
        }
        wake_all(waker);
    }

    fn get_buffer_uninit(&mut self, _size_hint: usize) -> Option<&mut [MaybeUninit<u8>]> {
        let (ptr, room) = {
            let mut core = self.core.borrow_mut();
            core.direct_ok = true;
            core.buf.lend_spare()?
        };
        // `lend_spare` hands out the `room` bytes of the direct read's spare capacity after its
        // bytes (at most its `want`), and from now until the next call of a `&mut self` method
        // of this protocol (which the returned borrow must end before) nothing moves, frees or
        // touches them: an `end_direct` meanwhile keeps the vector alive in `retired`,
        // `take_direct_full` refuses a lent vector, only `vec[..len]` is ever read (buffer.rs,
        // the `Loan::Spare` invariant).
        // SAFETY: by that invariant the `room` bytes at `ptr` are inside the allocation, alive
        // (`self.core` keeps it) and touched by nothing else while the returned borrow lives;
        // `MaybeUninit` asks nothing of their contents.
        Some(unsafe { std::slice::from_raw_parts_mut(ptr, room) })
    }

    unsafe fn buffer_updated_uninit(&mut self, nbytes: usize) {
        let (waker, pause) = {
            let mut core = self.core.borrow_mut();
            // SAFETY: the transport initialised the first `nbytes` bytes of the slice
            // `get_buffer_uninit` returned (this method's contract), which is the buffer's
            // current spare-capacity loan if any is.
            if !unsafe { core.buf.filled_spare(nbytes) } {
                // Nothing new, or a direct read not full yet: the waiting read has nothing to
                // do, and pausing would only be undone by its wait (asyncio's
                // `_wait_for_data` resumes).
                return;
            }
            (core.wakeup_waiter(), core.should_pause())
        };
        if let Some(t) = pause {
            t.pause_reading();
        }
        wake_all(waker);
    }

    fn eof_received(&mut self) -> bool {
        let waker = {
            let mut core = self.core.borrow_mut();
            core.buf.loan_over();
            core.feed_eof()
        };
        wake_all(waker);
        // Keep the transport open for writing (half-close), as asyncio does without TLS.
        true
    }

    fn pause_writing(&mut self) {
        self.core.borrow_mut().write_paused = true;
    }

    fn resume_writing(&mut self) {
        let wakers = {
            let mut core = self.core.borrow_mut();
            core.write_paused = false;
            core.drain_waiters.resolve(&Outcome::Ok)
        };
        wake_all(wakers);
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let exc = exc.map(Arc::new);
        let mut wakers = Vec::new();
        {
            let mut core = self.core.borrow_mut();
            core.buf.loan_over();
            let w = match &exc {
                None => core.feed_eof(),
                Some(e) => core.set_exception(e.clone()),
            };
            wakers.extend(w);
            let outcome = match &exc {
                None => Outcome::Ok,
                Some(e) => Outcome::Err(e.clone()),
            };
            if core.closed.is_none() {
                core.closed = Some(outcome.clone());
                wakers.extend(core.closed_waiters.resolve(&outcome));
            }
            core.lost = true;
            if core.write_paused {
                wakers.extend(core.drain_waiters.resolve(&outcome));
            }
            // Break the transport <-> protocol cycle, as asyncio's `self._transport = None`.
            core.transport = None;
            core.paused = false;
        }
        self.on_connect = None;
        wake_all(wakers);
    }
}
