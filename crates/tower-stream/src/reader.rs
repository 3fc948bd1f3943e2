//! [`StreamReader`]: asyncio's `StreamReader` — `read`, `read_to_end`, `readline`,
//! `readexactly`, `readuntil` (one or several separators) with the line limit, `feed_data`,
//! `feed_eof`, `at_eof`, `exception`/`set_exception` — and its named futures and [`Lines`].
//!
//! Every read is a step function over the shared state (`ReadOp::step`): it either finishes
//! from the buffer or asks to wait, and the one generic future (`Op`) does asyncio's
//! `_wait_for_data` around it (one waiter at a time, resume a paused transport, the waiter's
//! exception). A step takes bytes out of the buffer only when it finishes, so dropping a read
//! mid-way loses no byte. A `readexactly` of at least [`DIRECT_MIN`] bytes that must wait
//! starts a *direct read* (buffer.rs, `Direct`): the transport reads the rest of the message
//! straight into the vector it will return; any other read, a drop, `feed_data` or the
//! exception ends it first, its bytes back at the buffer's front.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tower_protocol::Buffered;
use tower_transport::ReadTransport;

use crate::error::{AlreadyWaiting, IncompleteReadError, LimitOverrunError, raise};
use crate::protocol::{Core, DEFAULT_LIMIT, ReadWaiter, Shared, StreamReaderProtocol};
use crate::protocol::{check_limit, wake_all};

/// What one poll of a read decided.
pub(crate) enum Step<T> {
    /// Finished (with the value or the error).
    Done(io::Result<T>),
    /// Needs more data (or the end of the stream).
    Wait,
}

/// One of the reads, as a step over the shared state.
pub(crate) trait ReadOp {
    /// What the read returns.
    type Output;
    /// asyncio's name, for the "already waiting" error.
    const NAME: &'static str;
    /// Argument errors, raised before the stored exception (asyncio's `ValueError`s).
    fn check(&self) -> io::Result<()> {
        Ok(())
    }
    /// Finishes from the buffer, or asks to wait. Takes bytes only when it finishes.
    fn step(&mut self, core: &mut Core) -> Step<Self::Output>;
    /// When the read waits: `Some(n)` to read the next bytes straight into the vector it will
    /// return, `n` long (a direct read; `readexactly` of at least [`DIRECT_MIN`] bytes).
    fn direct_size(&self) -> Option<usize> {
        None
    }
}

/// The smallest `readexactly` that, when it must wait, reads straight into the vector it
/// returns instead of into the buffer (saving the copy out of the buffer). Below it, a stream
/// of back-to-back messages loses more to the direct read's one `recv` per message than the
/// copy costs (measured in docs/decisions/0014-streams.md).
pub(crate) const DIRECT_MIN: usize = 16 * 1024;

/// The state of one read: its step and its wait (asyncio's `_wait_for_data`).
pub(crate) struct OpState<O> {
    /// The read.
    pub(crate) op: O,
    /// The token of our registered wait (0: not waiting).
    token: u64,
    /// The first poll ran (argument and exception checks done).
    started: bool,
}

impl<O: ReadOp> OpState<O> {
    /// A read not yet polled.
    pub(crate) fn new(op: O) -> Self {
        OpState {
            op,
            token: 0,
            started: false,
        }
    }

    /// One poll against `shared`.
    pub(crate) fn poll(
        &mut self,
        shared: &Shared,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<O::Output>> {
        let mut core = shared.borrow_mut();
        let mine = self.token;
        if self.token != 0 {
            if core.waiter_failed == Some(self.token) {
                // `set_exception` ended our wait: asyncio's waiter raises it.
                core.waiter_failed = None;
                self.token = 0;
                let exc = core.exception.as_ref().map(raise);
                return Poll::Ready(Err(exc.unwrap_or_else(|| io::ErrorKind::Other.into())));
            }
            if let Some(w) = core.waiter.as_mut().filter(|w| w.token == self.token) {
                // Not woken by the reader: keep waiting.
                if !w.waker.will_wake(cx.waker()) {
                    w.waker = cx.waker().clone();
                }
                return Poll::Pending;
            }
            self.token = 0;
        }
        if !self.started {
            self.started = true;
            self.op.check()?;
            if let Some(exc) = &core.exception {
                return Poll::Ready(Err(raise(exc)));
            }
        }
        if core.buf.direct_owner().is_some_and(|t| t != mine) {
            // Another read's direct read (it waits or was dropped unpolled): its bytes go back
            // to the buffer's front, where this read must see them.
            core.buf.end_direct();
        }
        match self.op.step(&mut core) {
            Step::Done(r) => {
                let resume = core.should_resume();
                drop(core);
                if let Some(t) = resume {
                    t.resume_reading();
                }
                Poll::Ready(r)
            }
            Step::Wait => {
                if let Some(exc) = &core.exception {
                    // The exception came while we were woken but not yet polled (asyncio would
                    // wait again and never see it): raise it rather than wait forever.
                    return Poll::Ready(Err(raise(exc)));
                }
                if core.waiter.is_some() {
                    return Poll::Ready(Err(AlreadyWaiting { func: O::NAME }.into_io()));
                }
                let resume = core.resume_to_wait();
                let token = core.token();
                core.waiter = Some(ReadWaiter {
                    token,
                    waker: cx.waker().clone(),
                });
                self.token = token;
                if let Some(n) = self.op.direct_size().filter(|_| core.direct_ok) {
                    core.buf.start_direct(token, n);
                }
                drop(core);
                if let Some(t) = resume {
                    t.resume_reading();
                }
                Poll::Pending
            }
        }
    }

    /// Withdraws our wait, if any (asyncio's `finally: self._waiter = None`).
    pub(crate) fn cancel(&mut self, shared: &Shared) {
        if self.token == 0 {
            return;
        }
        if let Ok(mut core) = shared.try_borrow_mut() {
            if core.waiter.as_ref().is_some_and(|w| w.token == self.token) {
                core.waiter = None;
            }
            if core.buf.direct_owner() == Some(self.token) {
                // Dropped mid-way: it took nothing (the bytes go back to the buffer).
                core.buf.end_direct();
            }
            if core.waiter_failed == Some(self.token) {
                core.waiter_failed = None;
            }
        }
        self.token = 0;
    }
}

/// `read(n)`.
pub(crate) struct ReadN(pub(crate) usize);

impl ReadOp for ReadN {
    type Output = Vec<u8>;
    const NAME: &'static str = "read";
    fn step(&mut self, core: &mut Core) -> Step<Vec<u8>> {
        if self.0 == 0 {
            return Step::Done(Ok(Vec::new()));
        }
        if core.buf.is_empty() && !core.eof {
            return Step::Wait;
        }
        Step::Done(Ok(core.buf.take(self.0)))
    }
}

/// `read_to_end()` (asyncio's `read(-1)`).
pub(crate) struct ToEnd;

impl ReadOp for ToEnd {
    type Output = Vec<u8>;
    const NAME: &'static str = "read";
    fn step(&mut self, core: &mut Core) -> Step<Vec<u8>> {
        if let Some(exc) = &core.exception {
            return Step::Done(Err(raise(exc)));
        }
        if !core.eof {
            return Step::Wait;
        }
        let n = core.buf.len();
        Step::Done(Ok(core.buf.take(n)))
    }
}

/// `readexactly(n)`.
pub(crate) struct Exactly(pub(crate) usize);

impl ReadOp for Exactly {
    type Output = Vec<u8>;
    const NAME: &'static str = "readexactly";
    #[inline]
    fn step(&mut self, core: &mut Core) -> Step<Vec<u8>> {
        let n = self.0;
        if n == 0 {
            return Step::Done(Ok(Vec::new()));
        }
        if core.buf.direct_owner().is_some() {
            // Our direct read (any other was ended before this step): full, it is the result;
            // else its bytes go back to the buffer and the read goes on from there.
            if let Some(v) = core.buf.take_direct_full() {
                return Step::Done(Ok(v));
            }
            core.buf.end_direct();
        }
        if core.buf.len() < n {
            if core.eof {
                let len = core.buf.len();
                let partial = core.buf.take(len);
                return Step::Done(Err(IncompleteReadError {
                    partial,
                    expected: Some(n),
                }
                .into_io()));
            }
            return Step::Wait;
        }
        Step::Done(Ok(core.buf.take(n)))
    }
    fn direct_size(&self) -> Option<usize> {
        (self.0 >= DIRECT_MIN).then_some(self.0)
    }
}

/// The separators of one `readuntil`, shortest first (asyncio's `sorted(separator, key=len)`,
/// stable: equal lengths keep their order).
enum Seps<'s> {
    /// One separator (`readline`, most `readuntil`s): no allocation.
    One(&'s [u8]),
    /// Several.
    Many(Vec<&'s [u8]>),
}

impl<'s> Seps<'s> {
    /// As a slice.
    fn as_slice(&self) -> &[&'s [u8]] {
        match self {
            Seps::One(s) => std::slice::from_ref(s),
            Seps::Many(v) => v,
        }
    }
}

/// `readuntil(separator)` / `readuntil_any(separators)`.
pub(crate) struct Until<'s> {
    /// The separators.
    seps: Seps<'s>,
    /// asyncio's `offset`: leading bytes known to hold no separator.
    offset: usize,
}

impl<'s> Until<'s> {
    /// One separator.
    pub(crate) fn one(sep: &'s [u8]) -> Self {
        Until {
            seps: Seps::One(sep),
            offset: 0,
        }
    }

    /// Several separators.
    pub(crate) fn many(seps: &[&'s [u8]]) -> Self {
        let mut v = seps.to_vec();
        v.sort_by_key(|s| s.len());
        Until {
            seps: Seps::Many(v),
            offset: 0,
        }
    }
}

/// The first index of `needle` in `hay`.
#[inline]
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [b] => hay.iter().position(|x| x == b),
        _ => hay.windows(needle.len()).position(|w| w == needle),
    }
}

impl ReadOp for Until<'_> {
    type Output = Vec<u8>;
    const NAME: &'static str = "readuntil";

    fn check(&self) -> io::Result<()> {
        let seps = self.seps.as_slice();
        if seps.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Separator should contain at least one element",
            ));
        }
        if seps[0].is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Separator should be at least one-byte string",
            ));
        }
        Ok(())
    }

    fn step(&mut self, core: &mut Core) -> Step<Vec<u8>> {
        let seps = self.seps.as_slice();
        let min_len = seps[0].len();
        let max_len = seps[seps.len() - 1].len();
        let data = core.buf.data();
        let buflen = data.len();
        self.offset = self.offset.min(buflen);
        if buflen - self.offset >= min_len {
            // The match that ends first; on a tie the shorter separator (asyncio 3.13).
            let mut best: Option<(usize, usize)> = None;
            for sep in seps {
                if let Some(i) = find(&data[self.offset..], sep) {
                    let start = self.offset + i;
                    let end = start + sep.len();
                    if best.is_none_or(|(_, e)| end < e) {
                        best = Some((start, end));
                    }
                }
            }
            if let Some((start, end)) = best {
                if start > core.limit {
                    return Step::Done(Err(LimitOverrunError {
                        message: "Separator is found, but chunk is longer than limit",
                        consumed: start,
                    }
                    .into_io()));
                }
                return Step::Done(Ok(core.buf.take(end)));
            }
            self.offset = (buflen + 1).saturating_sub(max_len);
            if self.offset > core.limit {
                return Step::Done(Err(LimitOverrunError {
                    message: "Separator is not found, and chunk exceed the limit",
                    consumed: self.offset,
                }
                .into_io()));
            }
        }
        if core.eof {
            let partial = core.buf.take(buflen);
            return Step::Done(Err(IncompleteReadError {
                partial,
                expected: None,
            }
            .into_io()));
        }
        Step::Wait
    }
}

/// `readline()`: `readuntil(b"\n")` with asyncio's handling of its errors.
pub(crate) struct Line(Until<'static>);

impl Line {
    /// A readline.
    pub(crate) fn new() -> Self {
        Line(Until::one(b"\n"))
    }
}

impl ReadOp for Line {
    type Output = Vec<u8>;
    const NAME: &'static str = "readuntil";

    fn step(&mut self, core: &mut Core) -> Step<Vec<u8>> {
        match self.0.step(core) {
            Step::Wait => Step::Wait,
            Step::Done(Ok(line)) => Step::Done(Ok(line)),
            Step::Done(Err(e)) => {
                if let Some(inc) = IncompleteReadError::from_io(&e) {
                    // The end of the stream: the incomplete last line (empty at EOF).
                    return Step::Done(Ok(inc.partial.clone()));
                }
                if let Some(over) = LimitOverrunError::from_io(&e) {
                    // asyncio: drop the over-long line if its newline is there, else the
                    // whole buffer; then raise.
                    let consumed = over.consumed;
                    if core.buf.data().get(consumed) == Some(&b'\n') {
                        core.buf.discard(consumed + 1);
                    } else {
                        core.buf.clear();
                    }
                }
                Step::Done(Err(e))
            }
        }
    }
}

/// A stream of bytes from a transport, read by lines, separators, sizes or to the end
/// (asyncio's `StreamReader`). Fed by its [`StreamReaderProtocol`] (the transport reads
/// straight into the reader's buffer), or by hand with [`feed_data`](Self::feed_data) and
/// [`feed_eof`](Self::feed_eof).
///
/// Reads take `&self`, as asyncio's: one read at a time may *wait* for data; a second read
/// that would wait while another waits fails with [`AlreadyWaiting`]
/// (asyncio's `RuntimeError`). Every read is cancel-safe: dropped before it returns, it has
/// taken no byte out of the buffer.
///
/// Errors are [`io::Error`]s: the stream's exception (the connection's error, or what
/// [`set_exception`](Self::set_exception) stored), or one carrying an
/// [`IncompleteReadError`], a [`LimitOverrunError`] or an [`AlreadyWaiting`].
///
/// The line limit (default [`DEFAULT_LIMIT`], 64 KiB) bounds `readline`/`readuntil`, and
/// back-pressure follows it: the transport's reading pauses when more than 2 × limit bytes
/// are buffered and resumes at or below limit (or whenever a read waits for data).
///
/// ```
/// use tower_stream::StreamReader;
///
/// let reader = StreamReader::new();
/// reader.feed_data(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
/// reader.feed_eof();
/// tower_coro::block_on(async {
///     assert_eq!(reader.readuntil(b"\r\n").await.unwrap(), b"HTTP/1.1 200 OK\r\n");
///     assert_eq!(reader.readline().await.unwrap(), b"Content-Length: 5\r\n");
///     assert_eq!(reader.readexactly(2).await.unwrap(), b"\r\n");
///     assert_eq!(reader.read(100).await.unwrap(), b"hello");
///     assert!(reader.at_eof());
/// });
/// ```
pub struct StreamReader {
    /// The state shared with the protocol and the writer.
    pub(crate) core: Shared,
    /// The `futures-io` reads' state (io.rs).
    pub(crate) io: crate::io::IoState,
}

impl Default for StreamReader {
    fn default() -> Self {
        StreamReader::new()
    }
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.core.try_borrow() {
            Ok(core) => core.fmt(f),
            Err(_) => f.write_str("StreamReader { <borrowed> }"),
        }
    }
}

impl StreamReader {
    /// A reader with the default limit ([`DEFAULT_LIMIT`]), fed by hand.
    pub fn new() -> StreamReader {
        StreamReader::from_core(Rc::new(RefCell::new(Core::new(DEFAULT_LIMIT))))
    }

    /// A reader with `limit` (asyncio's `StreamReader(limit=...)`), fed by hand.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `limit` is 0 (asyncio's `ValueError`).
    pub fn with_limit(limit: usize) -> io::Result<StreamReader> {
        check_limit(limit)?;
        Ok(StreamReader::from_core(Rc::new(RefCell::new(Core::new(
            limit,
        )))))
    }

    /// The reader a [`StreamReaderProtocol`] feeds (the protocol a factory gave back).
    pub fn from_protocol(protocol: &Rc<RefCell<Buffered<StreamReaderProtocol>>>) -> StreamReader {
        StreamReader::from_core(protocol.borrow().core.clone())
    }

    /// A reader on `core`.
    pub(crate) fn from_core(core: Shared) -> StreamReader {
        StreamReader {
            core,
            io: Default::default(),
        }
    }

    /// The line limit.
    pub fn limit(&self) -> usize {
        self.core.borrow().limit
    }

    /// The stream's exception, if one was set (a copy: the same OS error, or the same kind
    /// with the original inside).
    pub fn exception(&self) -> Option<io::Error> {
        self.core.borrow().exception.as_ref().map(raise)
    }

    /// Stores `exc` as the stream's exception: the waiting read, and every read after, fails
    /// with it (asyncio's `set_exception`).
    pub fn set_exception(&self, exc: io::Error) {
        let w = self
            .core
            .borrow_mut()
            .set_exception(std::sync::Arc::new(exc));
        wake_all(w);
    }

    /// Appends `data` to the buffer and wakes the waiting read (asyncio's `feed_data`; a
    /// copy). Pauses the transport, if there is one, above 2 × limit. Data fed after
    /// [`feed_eof`](Self::feed_eof) is dropped (asyncio asserts).
    pub fn feed_data(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let (w, pause) = {
            let mut core = self.core.borrow_mut();
            if core.eof {
                return;
            }
            // Appended after the direct read's bytes: it ends (they go back to the buffer),
            // and a reader fed by hand makes no more direct reads (each feed would end one).
            if core.buf.direct_lendable() {
                core.direct_ok = false;
            }
            core.buf.end_direct();
            core.buf.feed(data);
            (core.wakeup_waiter(), core.should_pause())
        };
        wake_all(w);
        if let Some(t) = pause {
            t.pause_reading();
        }
    }

    /// Marks the end of the stream and wakes the waiting read (asyncio's `feed_eof`).
    pub fn feed_eof(&self) {
        let w = self.core.borrow_mut().feed_eof();
        wake_all(w);
    }

    /// `true` once the end of the stream was fed and every byte was read.
    pub fn at_eof(&self) -> bool {
        let core = self.core.borrow();
        core.eof && core.buffered() == 0
    }

    /// Reads up to `n` bytes: waits until at least one byte is buffered (or the stream ended)
    /// and returns at most `n` (asyncio's `read(n)`; `n == 0`: empty at once). Empty at the end
    /// of the stream. Not bounded by the limit.
    ///
    /// Dropped before it returns, it took nothing.
    pub fn read(&self, n: usize) -> Read<'_> {
        Read(Op::new(self, ReadN(n)))
    }

    /// Reads to the end of the stream (asyncio's `read()`/`read(-1)`): waits for the end, then
    /// returns every byte. Not bounded by the limit: the buffer grows as needed (the transport
    /// is resumed whenever it waits).
    ///
    /// Dropped before it returns, it took nothing: the bytes stay buffered.
    pub fn read_to_end(&self) -> ReadToEnd<'_> {
        ReadToEnd(Op::new(self, ToEnd))
    }

    /// Reads one line, `\n` included (asyncio's `readline`). At the end of the stream, the
    /// incomplete last line (empty if nothing is left).
    ///
    /// # Errors
    ///
    /// A line longer than the limit fails with a [`LimitOverrunError`] (kind `InvalidData`),
    /// after dropping that line from the buffer if its newline is buffered, else the whole
    /// buffer (asyncio's `ValueError`); the stream's exception.
    ///
    /// Dropped before it returns, it took nothing.
    pub fn readline(&self) -> ReadLine<'_> {
        ReadLine(Op::new(self, Line::new()))
    }

    /// Reads exactly `n` bytes (asyncio's `readexactly`). Not bounded by the limit.
    ///
    /// # Errors
    ///
    /// The stream ends first: [`IncompleteReadError`] with the bytes left and `n` (kind
    /// `UnexpectedEof`; the buffer is emptied); the stream's exception.
    ///
    /// Dropped before it returns, it took nothing.
    pub fn readexactly(&self, n: usize) -> ReadExactly<'_> {
        ReadExactly(Op::new(self, Exactly(n)))
    }

    /// Reads up to and including `separator` (asyncio's `readuntil`).
    ///
    /// # Errors
    ///
    /// An empty separator (`InvalidInput`); the stream ends first: [`IncompleteReadError`]
    /// with every byte left (which may hold part of the separator; the buffer is emptied); the
    /// separator is not within the limit: [`LimitOverrunError`], the data left in the buffer;
    /// the stream's exception.
    ///
    /// Dropped before it returns, it took nothing.
    pub fn readuntil<'a>(&'a self, separator: &'a [u8]) -> ReadUntil<'a> {
        ReadUntil(Op::new(self, Until::one(separator)))
    }

    /// Reads up to and including the first of `separators` to end (asyncio 3.13's
    /// `readuntil(tuple)`): the shortest chunk that ends with any of them; for the limit, the
    /// match found is the one that counts. Errors as [`readuntil`](Self::readuntil), and
    /// `InvalidInput` for an empty list.
    ///
    /// ```
    /// use tower_stream::StreamReader;
    ///
    /// let reader = StreamReader::new();
    /// reader.feed_data(b"a\r\nb\n");
    /// tower_coro::block_on(async {
    ///     let seps: &[&[u8]] = &[b"\n", b"\r\n"];
    ///     assert_eq!(reader.readuntil_any(seps).await.unwrap(), b"a\r\n");
    ///     assert_eq!(reader.readuntil_any(seps).await.unwrap(), b"b\n");
    /// });
    /// ```
    pub fn readuntil_any<'a>(&'a self, separators: &[&'a [u8]]) -> ReadUntil<'a> {
        ReadUntil(Op::new(self, Until::many(separators)))
    }

    /// The lines of the stream as a [`Stream`] (asyncio's `async for line in reader`): each
    /// item is a [`readline`](Self::readline); it ends at the first empty line (the end of
    /// the stream).
    pub fn lines(&self) -> Lines<'_> {
        Lines {
            reader: self,
            st: None,
            done: false,
        }
    }
}

/// A read in flight: the reader and the read's state; withdraws its wait when dropped.
struct Op<'a, O: ReadOp> {
    /// The reader.
    reader: &'a StreamReader,
    /// The read.
    st: OpState<O>,
}

impl<'a, O: ReadOp> Op<'a, O> {
    /// A read of `reader`.
    fn new(reader: &'a StreamReader, op: O) -> Self {
        Op {
            reader,
            st: OpState::new(op),
        }
    }
}

impl<O: ReadOp> Drop for Op<'_, O> {
    fn drop(&mut self) {
        self.st.cancel(&self.reader.core);
    }
}

/// Defines a named read future over `Op`.
macro_rules! read_future {
    ($(#[$m:meta])* $name:ident, $op:ty, $out:ty) => {
        $(#[$m])*
        #[must_use = "futures do nothing unless awaited"]
        pub struct $name<'a>(Op<'a, $op>);

        impl Future for $name<'_> {
            type Output = io::Result<$out>;
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = &mut self.0;
                let r = this.st.poll(&this.reader.core, cx);
                if r.is_ready() {
                    this.st.cancel(&this.reader.core);
                }
                r
            }
        }

        impl fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("waiting", &(self.0.st.token != 0))
                    .finish_non_exhaustive()
            }
        }
    };
}

read_future!(
    /// [`StreamReader::read`]'s future.
    Read, ReadN, Vec<u8>
);
read_future!(
    /// [`StreamReader::read_to_end`]'s future.
    ReadToEnd, ToEnd, Vec<u8>
);
read_future!(
    /// [`StreamReader::readline`]'s future.
    ReadLine, Line, Vec<u8>
);
read_future!(
    /// [`StreamReader::readexactly`]'s future.
    ReadExactly, Exactly, Vec<u8>
);
read_future!(
    /// [`StreamReader::readuntil`]'s and [`StreamReader::readuntil_any`]'s future.
    ReadUntil, Until<'a>, Vec<u8>
);

/// The lines of a [`StreamReader`] ([`StreamReader::lines`]): a [`Stream`] of
/// `io::Result<Vec<u8>>`, ending at the end of the stream. An error item (a line over the
/// limit, the stream's exception) does not end it.
#[must_use = "streams do nothing unless polled"]
pub struct Lines<'a> {
    /// The reader.
    reader: &'a StreamReader,
    /// The readline in flight.
    st: Option<OpState<Line>>,
    /// The empty line was read.
    done: bool,
}

impl fmt::Debug for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Stream for Lines<'_> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let st = this.st.get_or_insert_with(|| OpState::new(Line::new()));
        let r = std::task::ready!(st.poll(&this.reader.core, cx));
        if let Some(mut st) = this.st.take() {
            st.cancel(&this.reader.core);
        }
        match r {
            Ok(line) if line.is_empty() => {
                this.done = true;
                Poll::Ready(None)
            }
            other => Poll::Ready(Some(other)),
        }
    }
}

impl Drop for Lines<'_> {
    fn drop(&mut self) {
        if let Some(st) = &mut self.st {
            st.cancel(&self.reader.core);
        }
    }
}
