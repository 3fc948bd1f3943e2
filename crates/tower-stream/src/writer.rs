//! [`StreamWriter`]: asyncio's `StreamWriter` — the transport's writing side plus `drain`
//! (flow control through the protocol's `pause_writing`/`resume_writing`) and `wait_closed`
//! (the protocol's `connection_lost`) — and their named futures [`Drain`], [`WaitClosed`].

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_transport::extra::ExtraInfoKey;
use tower_transport::{BaseTransport, StreamTransport, WriteTransport};

use crate::error::{connection_lost, raise, write_error};
use crate::protocol::{Outcome, Shared};
use crate::reader::StreamReader;

/// The writing half of a stream connection (asyncio's `StreamWriter`): writes go to the
/// transport at once (it tries the socket first and buffers the rest); [`drain`](Self::drain)
/// waits while the transport's buffer is above its high-water mark.
///
/// Dropping the writer closes the transport if it is not closing yet (asyncio's
/// `StreamWriter.__del__`): keep it as long as the connection should live. Share it between
/// tasks of one loop with an `Rc`; several of them may [`drain`](Self::drain) at once and all
/// wake together.
///
/// TLS (`start_tls`) lands with tier 8's TLS work (issue 16, the TLS part), which upgrades the
/// transport under this writer; it is not here yet.
///
/// ```
/// use tower_stream::{open_connection, start_server};
/// use tower_transport::{SocketAddress, extra};
///
/// tower_task::run(async {
///     let server = start_server(
///         |reader, writer| async move {
///             let line = reader.readline().await.unwrap();
///             writer.write(&line).unwrap();
///             writer.drain().await.unwrap();
///             writer.close();
///             writer.wait_closed().await.unwrap();
///         },
///         "127.0.0.1",
///         0,
///     )
///     .await
///     .unwrap();
///     let SocketAddress::Inet(addr) = server.sockets()[0].address.clone() else { panic!() };
///     let (reader, writer) = open_connection("127.0.0.1", addr.port()).await.unwrap();
///     assert!(writer.get_extra_info(extra::Peername).is_some());
///     writer.write(b"ping\n").unwrap();
///     writer.drain().await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"ping\n");
///     assert_eq!(reader.read_to_end().await.unwrap(), b""); // the server closed
///     writer.close();
///     writer.wait_closed().await.unwrap();
///     server.close();
///     server.wait_closed().await;
/// })
/// .unwrap();
/// ```
pub struct StreamWriter {
    /// The transport.
    transport: StreamTransport,
    /// The state shared with the protocol and the reader.
    pub(crate) core: Shared,
    /// The `futures-io` writes' drain token (0: none).
    pub(crate) io_token: u64,
    /// `poll_close`'s `wait_closed` token (0: none).
    pub(crate) io_close_token: u64,
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("StreamWriter");
        d.field("closing", &self.transport.is_closing());
        if let Ok(core) = self.core.try_borrow() {
            d.field("write_paused", &core.write_paused)
                .field("lost", &core.lost)
                .field("reader", &*core);
        }
        d.finish()
    }
}

impl StreamWriter {
    /// A writer on `transport`, whose protocol is `reader`'s [`StreamReaderProtocol`]
    /// (asyncio's `StreamWriter(transport, protocol, reader, loop)`).
    ///
    /// [`StreamReaderProtocol`]: crate::StreamReaderProtocol
    pub fn new(transport: StreamTransport, reader: &StreamReader) -> StreamWriter {
        StreamWriter::from_parts(transport, reader.core.clone())
    }

    /// A writer on `transport` and `core`.
    pub(crate) fn from_parts(transport: StreamTransport, core: Shared) -> StreamWriter {
        StreamWriter {
            transport,
            core,
            io_token: 0,
            io_close_token: 0,
        }
    }

    /// The transport (asyncio's `writer.transport`).
    pub fn transport(&self) -> &StreamTransport {
        &self.transport
    }

    /// Writes `data` (the transport's `write`: sent at once if the socket takes it, buffered
    /// otherwise). Follow with [`drain`](Self::drain) to respect flow control.
    ///
    /// # Errors
    ///
    /// After [`write_eof`](Self::write_eof) (`BrokenPipe`), or on a read-only transport
    /// (`Unsupported`); the transport's [`WriteError`](tower_transport::WriteError) is inside. Writes after the connection
    /// is lost are dropped (the transport's rule).
    pub fn write(&self, data: &[u8]) -> io::Result<()> {
        self.transport.write(data).map_err(write_error)
    }

    /// Writes every buffer of `data`, in order (the transport's `writelines`).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn writelines(&self, data: &[&[u8]]) -> io::Result<()> {
        self.transport.writelines(data).map_err(write_error)
    }

    /// Shuts the writing half once the buffer is sent (half-close).
    pub fn write_eof(&self) {
        self.transport.write_eof();
    }

    /// Whether [`write_eof`](Self::write_eof) is supported (a socket: yes).
    pub fn can_write_eof(&self) -> bool {
        self.transport.can_write_eof()
    }

    /// Closes the transport: buffered data is sent first, then the connection is lost
    /// ([`wait_closed`](Self::wait_closed) waits for that).
    pub fn close(&self) {
        self.transport.close();
    }

    /// Whether the transport is closing or closed.
    pub fn is_closing(&self) -> bool {
        self.transport.is_closing()
    }

    /// The transport's extra information (asyncio's `get_extra_info`): `extra::Peername`,
    /// `extra::Sockname`, `extra::Socket`, ...
    pub fn get_extra_info<K: ExtraInfoKey>(&self, key: K) -> Option<K::Value> {
        self.transport.get_extra_info(key)
    }

    /// Waits until it is all right to write more (asyncio's `drain`): at once unless the
    /// transport paused writing (its buffer is above the high-water mark), else until it
    /// resumes (at or below the low-water mark). On a closing transport it first yields once
    /// to the loop, so that a pending `connection_lost` runs and its error is seen.
    ///
    /// # Errors
    ///
    /// The reader's exception (the connection's error); `ConnectionReset` ("Connection lost")
    /// once the connection is lost; the connection's error if it is lost while waiting.
    ///
    /// Dropped before it returns: nothing happens (it only waits).
    pub fn drain(&self) -> Drain<'_> {
        Drain {
            writer: self,
            state: DrainState::Start,
            token: 0,
        }
    }

    /// Waits until the connection is lost (asyncio's `wait_closed`, after `close`).
    ///
    /// # Errors
    ///
    /// The error the connection was lost with, if any.
    ///
    /// Dropped before it returns: nothing happens.
    pub fn wait_closed(&self) -> WaitClosed<'_> {
        WaitClosed {
            core: &self.core,
            token: 0,
        }
    }

    /// The drain wait without the yield: shared by [`Drain`] and `poll_flush`.
    pub(crate) fn poll_flow(&self, token: &mut u64, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut core = self.core.borrow_mut();
        if *token == 0 {
            if core.lost {
                return Poll::Ready(Err(connection_lost()));
            }
            if !core.write_paused {
                return Poll::Ready(Ok(()));
            }
            *token = core.token();
        }
        match core.drain_waiters.poll(*token, cx.waker()) {
            Outcome::Pending => Poll::Pending,
            Outcome::Ok => {
                *token = 0;
                Poll::Ready(Ok(()))
            }
            Outcome::Err(e) => {
                *token = 0;
                Poll::Ready(Err(raise(&e)))
            }
        }
    }

    /// Forgets a drain wait.
    pub(crate) fn forget(&self, token: &mut u64) {
        if *token != 0 {
            if let Ok(mut core) = self.core.try_borrow_mut() {
                core.drain_waiters.remove(*token);
            }
            *token = 0;
        }
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        let mut token = self.io_token;
        self.forget(&mut token);
        if self.io_close_token != 0 {
            if let Ok(mut core) = self.core.try_borrow_mut() {
                core.closed_waiters.remove(self.io_close_token);
            }
        }
        if !self.transport.is_closing() {
            self.transport.close();
        }
    }
}

/// Where a [`Drain`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DrainState {
    /// Not polled yet.
    Start,
    /// Yielded once on a closing transport.
    Yielded,
    /// Checking or waiting on flow control.
    Flow,
}

/// [`StreamWriter::drain`]'s future.
#[must_use = "futures do nothing unless awaited"]
pub struct Drain<'a> {
    /// The writer.
    writer: &'a StreamWriter,
    /// Where it is.
    state: DrainState,
    /// Its drain waiter's token (0: none).
    token: u64,
}

impl fmt::Debug for Drain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain")
            .field("state", &self.state)
            .field("waiting", &(self.token != 0))
            .finish()
    }
}

impl Future for Drain<'_> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.state == DrainState::Start {
            if let Some(exc) = &this.writer.core.borrow().exception {
                return Poll::Ready(Err(raise(exc)));
            }
            if this.writer.transport.is_closing() {
                // asyncio's `await sleep(0)`: let a pending `connection_lost` run first.
                this.state = DrainState::Yielded;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            this.state = DrainState::Flow;
        }
        this.state = DrainState::Flow;
        this.writer.poll_flow(&mut this.token, cx)
    }
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        self.writer.forget(&mut self.token);
    }
}

/// [`StreamWriter::wait_closed`]'s future.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitClosed<'a> {
    /// The shared state.
    core: &'a Shared,
    /// Its waiter's token (0: none).
    token: u64,
}

impl fmt::Debug for WaitClosed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitClosed")
            .field("waiting", &(self.token != 0))
            .finish()
    }
}

impl Future for WaitClosed<'_> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let mut core = this.core.borrow_mut();
        let outcome = match &core.closed {
            Some(o) => o.clone(),
            None => {
                if this.token == 0 {
                    this.token = core.token();
                }
                core.closed_waiters.poll(this.token, cx.waker())
            }
        };
        match outcome {
            Outcome::Pending => Poll::Pending,
            Outcome::Ok => {
                core.closed_waiters.remove(this.token);
                this.token = 0;
                Poll::Ready(Ok(()))
            }
            Outcome::Err(e) => {
                core.closed_waiters.remove(this.token);
                this.token = 0;
                Poll::Ready(Err(raise(&e)))
            }
        }
    }
}

impl Drop for WaitClosed<'_> {
    fn drop(&mut self) {
        if self.token != 0 {
            if let Ok(mut core) = self.core.try_borrow_mut() {
                core.closed_waiters.remove(self.token);
            }
        }
    }
}
