//! [`StreamWriter`]: asyncio's `StreamWriter` — the transport's writing side plus `drain`
//! (flow control through the protocol's `pause_writing`/`resume_writing`), `wait_closed`
//! (the protocol's `connection_lost`) and, with feature `tls`, `start_tls` (the connection
//! upgraded under the same reader and writer) — and their named futures [`Drain`],
//! [`WaitClosed`], [`StartTls`].

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
/// With feature `tls`, `start_tls` upgrades the connection to TLS under
/// the same reader and writer (asyncio 3.11's `StreamWriter.start_tls`).
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
    /// Made by `start_server` for an accepted connection (asyncio: the protocol has a
    /// `client_connected_cb`): `start_tls` takes the server end.
    server_side: bool,
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
            server_side: false,
        }
    }

    /// The writer of an accepted connection (`start_server`'s).
    pub(crate) fn server_side(mut self) -> StreamWriter {
        self.server_side = true;
        self
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

    /// Upgrades the connection to TLS (asyncio 3.11's `StreamWriter.start_tls(sslcontext, *,
    /// server_hostname=None, ssl_handshake_timeout=None, ssl_shutdown_timeout=None)`):
    /// `.await` the builder. It waits for [`drain`](Self::drain), runs tier 8's
    /// [`start_tls`](tower_protocol::tls::start_tls) on the transport, then this writer writes
    /// through the TLS transport and the reader reads the plaintext (asyncio's
    /// `_replace_transport`); bytes the reader held before are read first.
    /// [`transport`](Self::transport) is then the TLS one ([`tls_info`] reports on it). Feature
    /// `tls`.
    ///
    /// The end is the writer's side, as in asyncio: a writer from [`start_server`] takes a
    /// server config, any other writer a client config and
    /// [`server_hostname`](StartTls::server_hostname).
    ///
    /// [`tls_info`]: tower_protocol::tls::tls_info
    /// [`start_server`]: crate::start_server
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a config of the other end, a client config without
    /// `server_hostname`, a zero timeout, or a writer already on TLS; `NotConnected` if the transport is
    /// closing; `drain`'s errors; the handshake's (`InvalidData` with rustls's error inside,
    /// `ConnectionAborted` after the handshake timeout). After a failed handshake the
    /// connection is closed and the reader and writer hold its error (reads, `drain` and
    /// `wait_closed` raise it), as asyncio's streams after `start_tls` raises.
    ///
    /// # Cancellation
    ///
    /// Dropped mid-way, the connection is closed and the pair holds a `ConnectionAborted`
    /// error.
    ///
    /// ```
    /// use tower_protocol::tls::{client_config, rustls::RootCertStore};
    /// use tower_stream::StreamWriter;
    ///
    /// async fn upgrade(writer: &mut StreamWriter, roots: RootCertStore) -> std::io::Result<()> {
    ///     writer.write(b"STARTTLS\r\n")?;
    ///     writer.start_tls(client_config(roots)).server_hostname("mail.example.org").await
    /// }
    /// # let _ = upgrade;
    /// ```
    #[cfg(feature = "tls")]
    pub fn start_tls(
        &mut self,
        sslcontext: impl Into<tower_protocol::tls::TlsContext>,
    ) -> StartTls<'_> {
        StartTls {
            writer: self,
            context: sslcontext.into(),
            server_hostname: None,
            options: tower_protocol::tls::TlsOptions::default(),
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

/// The options of [`StreamWriter::start_tls`]; `.await` it (feature `tls`).
#[cfg(feature = "tls")]
#[must_use = "the upgrade starts only when the builder is awaited"]
pub struct StartTls<'a> {
    /// The writer to upgrade.
    writer: &'a mut StreamWriter,
    /// asyncio's `sslcontext`.
    context: tower_protocol::tls::TlsContext,
    /// asyncio's `server_hostname`.
    server_hostname: Option<String>,
    /// asyncio's `ssl_handshake_timeout` and `ssl_shutdown_timeout`: tier 8's options, its
    /// defaults and its check, handed to its `start_tls` as they are.
    options: tower_protocol::tls::TlsOptions,
}

#[cfg(feature = "tls")]
impl fmt::Debug for StartTls<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartTls")
            .field("context", &self.context)
            .field("server_hostname", &self.server_hostname)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "tls")]
impl<'a> StartTls<'a> {
    /// The name the server's certificate must carry (asyncio's `server_hostname`): required
    /// with a client config, refused with a server one.
    pub fn server_hostname(mut self, name: impl Into<String>) -> Self {
        self.server_hostname = Some(name.into());
        self
    }

    /// asyncio's `ssl_handshake_timeout`
    /// ([`SSL_HANDSHAKE_TIMEOUT`](tower_protocol::tls::SSL_HANDSHAKE_TIMEOUT) by default;
    /// checked by [`TlsOptions::check`](tower_protocol::tls::TlsOptions::check)).
    pub fn ssl_handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.handshake_timeout = timeout;
        self
    }

    /// asyncio's `ssl_shutdown_timeout`
    /// ([`SSL_SHUTDOWN_TIMEOUT`](tower_protocol::tls::SSL_SHUTDOWN_TIMEOUT) by default;
    /// checked by [`TlsOptions::check`](tower_protocol::tls::TlsOptions::check)).
    pub fn ssl_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.shutdown_timeout = timeout;
        self
    }

    /// The end to take, checked against the writer's side.
    fn config(&self) -> io::Result<tower_protocol::tls::TlsConfig> {
        use tower_protocol::tls::{TlsConfig, TlsContext};
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned()));
        match (&self.context, self.writer.server_side) {
            (TlsContext::Server(c), true) => match self.server_hostname {
                Some(_) => {
                    invalid("start_tls: server_hostname is only meaningful on a client-side writer")
                }
                None => Ok(TlsConfig::Server(c.clone())),
            },
            (TlsContext::Client(c), false) => match &self.server_hostname {
                Some(name) => TlsConfig::client(c.clone(), name),
                None => invalid("start_tls: a client-side writer needs server_hostname"),
            },
            (TlsContext::Client(_), true) => invalid(
                "start_tls: this writer is a server's (start_server): it needs a server config",
            ),
            (TlsContext::Server(_), false) => {
                invalid("start_tls: this writer is a client's: it needs a client config")
            }
        }
    }

    /// What awaiting the builder runs.
    async fn run(self) -> io::Result<()> {
        use tower_protocol::tls::tls_info;
        use tower_transport::ReadTransport;

        let config = self.config()?;
        // Checked before anything happens, so a bad timeout leaves the connection as it was.
        self.options.check()?;
        let writer = self.writer;
        if tls_info(&writer.transport).is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls: the writer already uses TLS",
            ));
        }
        if writer.transport.is_closing() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "start_tls: the transport is closing",
            ));
        }
        writer.drain().await?;
        // The protocol under TLS: a new StreamReaderProtocol on the same shared state, so the
        // reader keeps its buffer and goes on with the plaintext (asyncio's
        // `_replace_transport`; its `connection_made` gives the state the TLS transport).
        let protocol = std::rc::Rc::new(std::cell::RefCell::new(tower_protocol::Buffered(
            crate::protocol::StreamReaderProtocol {
                core: writer.core.clone(),
                on_connect: None,
            },
        )));
        let mut guard = LoseOnDrop(Some(protocol.clone()));
        let result = tower_protocol::tls::start_tls(&writer.transport, protocol.clone(), config)
            .ssl_handshake_timeout(self.options.handshake_timeout)
            .ssl_shutdown_timeout(self.options.shutdown_timeout)
            .await;
        guard.0 = None;
        match result {
            Ok(tls) => {
                writer.transport = tls.clone();
                if writer.core.borrow().paused {
                    // The reader's buffer is above 2 x limit: keep the new transport paused.
                    tls.pause_reading();
                }
                Ok(())
            }
            Err(e) => {
                // The transport is closed and the TLS layer tells the old protocol nothing:
                // the pair gets the error here.
                lose(&protocol, io::Error::new(e.kind(), e.to_string()));
                Err(e)
            }
        }
    }
}

#[cfg(feature = "tls")]
impl<'a> std::future::IntoFuture for StartTls<'a> {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The protocol under TLS during `start_tls`.
#[cfg(feature = "tls")]
type UnderTls = std::rc::Rc<
    std::cell::RefCell<tower_protocol::Buffered<crate::protocol::StreamReaderProtocol>>,
>;

/// Ends the pair's connection with `exc` (the upgrade failed or was dropped).
#[cfg(feature = "tls")]
fn lose(protocol: &UnderTls, exc: io::Error) {
    use tower_protocol::BufferedProtocol;
    if let Ok(mut p) = protocol.try_borrow_mut() {
        p.0.connection_lost(Some(exc));
    }
}

/// Loses the pair's connection if `start_tls` is dropped mid-way (tier 8's `start_tls` closes
/// the transport then, and the TLS layer tells the reader nothing).
#[cfg(feature = "tls")]
struct LoseOnDrop(Option<UnderTls>);

#[cfg(feature = "tls")]
impl Drop for LoseOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            lose(
                &p,
                io::Error::new(io::ErrorKind::ConnectionAborted, "start_tls was cancelled"),
            );
        }
    }
}
