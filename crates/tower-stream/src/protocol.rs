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

/// A `readexactly(n)` reading straight into the vector it returns (a *direct* read,
/// docs/decisions/0014-streams.md): its bytes come first in the reader's data, before `buf`'s.
pub(crate) struct Direct {
    /// The bytes so far; capacity at least `want`. The transport reads into its spare
    /// capacity (`get_buffer_uninit`), never past `want`.
    pub(crate) vec: Vec<u8>,
    /// The `n` of the `readexactly`.
    pub(crate) want: usize,
    /// The token of the waiting read it belongs to.
    pub(crate) token: u64,
}

/// What the protocol, the reader and the writer share.
pub(crate) struct Core {
    // --- the reader (asyncio's StreamReader) ---
    /// The bytes received and not yet read (after `direct`'s).
    pub(crate) buf: ReadBuffer,
    /// The direct read in flight, if any: its bytes come before `buf`'s.
    pub(crate) direct: Option<Direct>,
    /// Length of the spare capacity `get_buffer_uninit` lent (0: no loan), until the
    /// protocol's next call. Invariant while it is not 0: the lent memory is
    /// `direct_retired`'s spare capacity if that is `Some`, else `direct`'s, and nothing here
    /// moves, frees or touches it (`vec[..len]` is read, never the spare capacity).
    pub(crate) direct_lent: usize,
    /// A direct read's vector ended while its spare capacity was lent: kept alive, untouched,
    /// until the loan is over (bytes reported for it are then appended to `buf`).
    pub(crate) direct_retired: Option<Vec<u8>>,
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
            direct: None,
            direct_lent: 0,
            direct_retired: None,
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
        self.buf.len() + self.direct.as_ref().map_or(0, |d| d.vec.len())
    }

    /// Starts a direct read of `want` bytes for the waiting read `token`: the buffered bytes
    /// move into a vector of capacity `want` (a small copy: fewer than `want` are buffered).
    #[inline(never)]
    pub(crate) fn start_direct(&mut self, token: u64, want: usize) {
        self.end_direct();
        let mut vec = Vec::with_capacity(want);
        self.buf.move_all_into(&mut vec);
        self.direct = Some(Direct { vec, want, token });
    }

    /// Ends the direct read, if any, unfinished: its bytes go back to the front of the buffer,
    /// in order. If its spare capacity may be lent, the vector is kept in `direct_retired`.
    #[inline(never)]
    pub(crate) fn end_direct(&mut self) {
        let Some(d) = self.direct.take() else {
            return;
        };
        // `d.vec`'s slice is `[0, len)`: the lent memory, if any, is past it.
        self.buf.prepend(&d.vec);
        if self.direct_lent != 0 && self.direct_retired.is_none() {
            self.direct_retired = Some(d.vec);
        }
    }

    /// The direct read's vector, if it holds its `want` bytes (and none of it is lent).
    #[inline(never)]
    pub(crate) fn take_direct_full(&mut self) -> Option<Vec<u8>> {
        let d = self.direct.as_ref()?;
        if d.vec.len() < d.want || (self.direct_lent != 0 && self.direct_retired.is_none()) {
            return None;
        }
        let d = self.direct.take()?;
        self.buf.count_taken(d.vec.len());
        Some(d.vec)
    }

    /// Whether a direct read is in flight and could take bytes from the transport now.
    #[inline]
    pub(crate) fn direct_lendable(&self) -> bool {
        self.direct.as_ref().is_some_and(|d| d.vec.len() < d.want) && self.buf.is_empty()
    }

    /// The owner of the direct read, if any.
    #[inline]
    pub(crate) fn direct_owner(&self) -> Option<u64> {
        self.direct.as_ref().map(|d| d.token)
    }

    /// The protocol is called again: any `get_buffer_uninit` loan is over.
    pub(crate) fn direct_loan_over(&mut self) {
        self.direct_lent = 0;
        self.direct_retired = None;
    }

    /// asyncio's `feed_eof`.
    pub(crate) fn feed_eof(&mut self) -> Option<Waker> {
        self.eof = true;
        self.wakeup_waiter()
    }

    /// asyncio's `set_exception`.
    pub(crate) fn set_exception(&mut self, exc: Stored) -> Option<Waker> {
        self.end_direct();
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
            .field(
                "direct",
                &self.direct.as_ref().map(|d| (d.vec.len(), d.want)),
            )
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
            core.direct_loan_over();
            if core.direct_lendable() {
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
        // alive in `retired` (buffer.rs, the `loan` invariant).
        // SAFETY: by that invariant the `len` initialised bytes at `ptr` are alive (`self.core`
        // keeps the buffer) and touched by nothing else while the returned borrow lives.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }

    fn buffer_updated(&mut self, nbytes: usize) {
        let (waker, pause) = {
            let mut core = self.core.borrow_mut();
            // A count for a `get_buffer_uninit` loan only comes through the unsafe
            // `buffer_updated_uninit` (its bytes may be uninitialised): ignored here.
            core.direct_loan_over();
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
        let mut core = self.core.borrow_mut();
        core.direct_ok = true;
        // The common case: no direct read. Nothing is lent, so any earlier loan stays as it is
        // (the `get_buffer` that follows ends it).
        core.direct.as_ref()?;
        core.buf.loan_over();
        core.direct_loan_over();
        if !core.buf.is_empty() {
            // Bytes after the direct read's are buffered: new ones go after them.
            return None;
        }
        let d = core.direct.as_mut()?;
        let room = d.want - d.vec.len();
        if room == 0 || d.vec.capacity() - d.vec.len() < room {
            return None;
        }
        // `as_mut_ptr` makes no reference to the vector's bytes.
        // SAFETY: `len <= capacity`, so the offset stays inside (or one past) the allocation.
        let ptr = unsafe { d.vec.as_mut_ptr().add(d.vec.len()) };
        core.direct_lent = room;
        drop(core);
        // The loan is the `room` bytes of spare capacity after the direct read's bytes, at
        // most its `want` (the next message's bytes stay in the kernel for the buffer). From
        // now until the next call of a `&mut self` method of this protocol (which the returned
        // borrow must end before), nothing moves, frees or touches them: `end_direct` keeps the
        // vector alive in `direct_retired`, `take_direct_full` refuses a lent vector, and only
        // `vec[..len]` is ever read (the `direct_lent` invariant, `Core`).
        // SAFETY: by that invariant the `room` bytes at `ptr` are inside the allocation
        // (`len + room <= capacity`), alive (`self.core` keeps it) and touched by nothing else
        // while the returned borrow lives; `MaybeUninit` asks nothing of their contents.
        Some(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<u8>>(), room) })
    }

    unsafe fn buffer_updated_uninit(&mut self, nbytes: usize) {
        let (waker, pause) = {
            let mut core = self.core.borrow_mut();
            let lent = std::mem::take(&mut core.direct_lent);
            let n = nbytes.min(lent);
            if lent == 0 || n == 0 {
                core.direct_loan_over();
                return;
            }
            if let Some(old) = core.direct_retired.take() {
                // The direct read ended during the loan: the bytes are in its old vector, after
                // its `len` bytes; they come after everything buffered.
                // SAFETY: the loan was `lent` bytes of `old`'s spare capacity from `old.len()`
                // (the `direct_lent` invariant: kept alive, untouched), and the caller
                // initialised the first `nbytes` of them (this method's contract); `n` is at
                // most both.
                let bytes = unsafe { std::slice::from_raw_parts(old.as_ptr().add(old.len()), n) };
                core.buf.feed(bytes);
            } else if let Some(d) = core.direct.as_mut() {
                // SAFETY: the loan was `d.vec`'s spare capacity `[len, len + lent)` (the
                // `direct_lent` invariant), inside its capacity, and the caller initialised
                // its first `nbytes` (this method's contract): `[0, len + n)` is initialised.
                unsafe { d.vec.set_len(d.vec.len() + n) };
                if d.vec.len() < d.want {
                    // Not full: the waiting read has nothing to do yet, and pausing would only
                    // be undone by its wait (asyncio's `_wait_for_data` resumes).
                    return;
                }
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
            core.direct_loan_over();
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
            core.direct_loan_over();
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
