//! The client-side helpers: [`open_connection`] (asyncio's `open_connection`) and
//! [`open_unix_connection`], each holding tier 8's builder (`create_connection`,
//! `create_unix_connection`) and the reader's `limit`: tier 8's options are forwarded, never
//! restated (`configure`, and the `forward!` one-liners, also used by server.rs). Each gives a
//! [`StreamReader`]/[`StreamWriter`] pair on one [`StreamReaderProtocol`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use tower_protocol::{
    Buffered, CreateConnection, CreateUnixConnection, Family, Host, create_connection,
    create_unix_connection,
};
use tower_transport::StreamTransport;

use crate::protocol::{Core, DEFAULT_LIMIT, OnConnect, StreamReaderProtocol, check_limit};
use crate::reader::StreamReader;
use crate::writer::StreamWriter;

/// What the open helpers resolve to.
pub type Streams = (StreamReader, StreamWriter);

/// The future of an awaited [`OpenConnection`] or [`OpenUnixConnection`].
pub type OpenFuture = Pin<Box<dyn Future<Output = io::Result<Streams>>>>;

impl StreamReaderProtocol {
    /// A protocol on a fresh reader state.
    pub(crate) fn build(limit: usize, on_connect: Option<OnConnect>) -> Buffered<Self> {
        Buffered(StreamReaderProtocol {
            core: Rc::new(RefCell::new(Core::new(limit))),
            on_connect,
        })
    }
}

/// The protocol factory the stream helpers hand tier 8's builders: a [`StreamReaderProtocol`]
/// per connection, with the helper's `limit` (read when the connection is made).
pub type StreamFactory = Box<dyn Fn() -> Buffered<StreamReaderProtocol>>;

/// The limit shared by a helper and its factory (set by `.limit(n)` until the builder is
/// awaited).
pub(crate) type SharedLimit = Rc<Cell<usize>>;

/// Tier 8's builder methods on a stream helper, each one line through `configure`: tier 8's
/// options are written once, in tier 8.
macro_rules! forward {
    ($to:literal; $( $(#[$attr:meta])* $name:ident($($arg:ident: $ty:ty),*); )*) => {
        $(
            $(#[$attr])*
            #[doc = concat!("[`", $to, "::", stringify!($name), "`](tower_protocol::", $to, "::",
                stringify!($name), "), forwarded (as `configure(|b| b.", stringify!($name), "(..))`).")]
            pub fn $name(self, $($arg: $ty),*) -> Self {
                self.configure(|b| b.$name($($arg),*))
            }
        )*
    };
}
pub(crate) use forward;

/// A stream helper's builder: tier 8's builder `B` and the readers' limit; `.await` it.
/// [`OpenConnection`], [`OpenUnixConnection`], [`StartServer`](crate::StartServer) and
/// [`StartUnixServer`](crate::StartUnixServer) are this on their tier-8 builders, with tier 8's
/// options forwarded by name.
#[must_use = "nothing is made until the builder is awaited"]
#[derive(Debug)]
pub struct StreamBuilder<B> {
    /// Tier 8's builder, on a [`StreamFactory`].
    pub(crate) inner: B,
    /// The readers' limit.
    pub(crate) limit: SharedLimit,
}

impl<B> StreamBuilder<B> {
    /// The readers' line limit (default [`DEFAULT_LIMIT`], 64 KiB; asyncio's `limit`).
    pub fn limit(self, limit: usize) -> Self {
        self.limit.set(limit);
        self
    }

    /// Sets any of tier 8's options on its builder (what the named methods do, one each).
    pub fn configure(mut self, f: impl FnOnce(B) -> B) -> Self {
        self.inner = f(self.inner);
        self
    }
}

impl<T, B: IntoFuture<Output = io::Result<T>>> StreamBuilder<B> {
    /// What awaiting any of them runs first: the limit's check, then tier 8's builder.
    pub(crate) async fn build(self) -> io::Result<T> {
        check_limit(self.limit.get())?;
        self.inner.await
    }
}

/// The pair on a factory's transport and protocol.
fn pair(
    transport: StreamTransport,
    protocol: &Rc<RefCell<Buffered<StreamReaderProtocol>>>,
) -> Streams {
    let reader = StreamReader::from_protocol(protocol);
    let writer = StreamWriter::from_parts(transport, reader.core.clone());
    (reader, writer)
}

/// Opens a TCP connection to `host` at `port` and returns its reader and writer (asyncio's
/// `open_connection`). Set options on the returned builder — [`limit`](OpenConnection::limit)
/// and tier 8's `create_connection` options, forwarded (each by name, or any of them with
/// [`configure`](OpenConnection::configure)) — then `.await` it. With
/// `ssl` (feature `tls`) the pair reads and writes over TLS.
///
/// ```
/// use std::io::Write;
/// use std::net::TcpListener;
/// use std::time::Duration;
/// use tower_stream::open_connection;
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = listener.local_addr().unwrap().port();
/// let server = std::thread::spawn(move || {
///     let (mut s, _) = listener.accept().unwrap();
///     s.write_all(b"hello\nworld").unwrap();
/// });
/// tower_task::run(async move {
///     let (reader, writer) = open_connection("127.0.0.1", port)
///         .limit(1024)
///         .configure(|b| b.happy_eyeballs_delay(Duration::from_millis(250)))
///         .await
///         .unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"hello\n");
///     assert_eq!(reader.read_to_end().await.unwrap(), b"world");
///     writer.close();
///     writer.wait_closed().await.unwrap();
/// })
/// .unwrap();
/// server.join().unwrap();
/// ```
///
/// # Errors
///
/// `create_connection`'s (resolution, connection, TLS, outside a running loop); `InvalidInput`
/// for a limit of 0.
///
/// # Cancellation
///
/// As `create_connection`'s: dropped mid-way, every socket it opened is closed.
pub fn open_connection(host: impl Into<Host>, port: u16) -> OpenConnection {
    let (factory, limit) = client_factory();
    OpenConnection {
        inner: create_connection(factory, host, port),
        limit,
    }
}

/// A factory of client protocols and its limit.
fn client_factory() -> (StreamFactory, SharedLimit) {
    let limit = Rc::new(Cell::new(DEFAULT_LIMIT));
    let l = limit.clone();
    (
        Box::new(move || StreamReaderProtocol::build(l.get(), None)),
        limit,
    )
}

/// The options of [`open_connection`]: tier 8's [`CreateConnection`] and the reader's limit;
/// `.await` it.
pub type OpenConnection =
    StreamBuilder<CreateConnection<Buffered<StreamReaderProtocol>, StreamFactory>>;

impl OpenConnection {
    forward! { "CreateConnection";
        happy_eyeballs_delay(delay: Duration);
        interleave(count: usize);
        all_errors(all: bool);
        local_addr(host: impl Into<Host>, port: u16);
        family(family: Family);
        #[cfg(feature = "tls")]
        ssl(config: std::sync::Arc<tower_protocol::tls::rustls::ClientConfig>);
        #[cfg(feature = "tls")]
        server_hostname(name: impl Into<String>);
        #[cfg(feature = "tls")]
        ssl_handshake_timeout(timeout: Duration);
        #[cfg(feature = "tls")]
        ssl_shutdown_timeout(timeout: Duration);
    }
}

impl IntoFuture for OpenConnection {
    type Output = io::Result<Streams>;
    type IntoFuture = OpenFuture;

    fn into_future(self) -> OpenFuture {
        Box::pin(async move {
            let (transport, protocol) = self.build().await?;
            Ok(pair(transport, &protocol))
        })
    }
}

/// Opens a Unix stream connection to `path` and returns its reader and writer (asyncio's
/// `open_unix_connection`); `.limit(n)` and `create_unix_connection`'s options (`ssl`,
/// `server_hostname`, feature `tls`) on the builder, then `.await` it.
///
/// # Errors
///
/// `create_unix_connection`'s; `InvalidInput` for a limit of 0.
///
/// # Cancellation
///
/// Dropped mid-way, the socket it opened is closed.
pub fn open_unix_connection(path: impl Into<PathBuf>) -> OpenUnixConnection {
    let (factory, limit) = client_factory();
    OpenUnixConnection {
        inner: create_unix_connection(factory, path.into()),
        limit,
    }
}

/// The options of [`open_unix_connection`]: tier 8's [`CreateUnixConnection`] and the
/// reader's limit; `.await` it.
pub type OpenUnixConnection =
    StreamBuilder<CreateUnixConnection<Buffered<StreamReaderProtocol>, StreamFactory>>;

impl OpenUnixConnection {
    #[cfg(feature = "tls")]
    forward! { "CreateUnixConnection";
        ssl(config: std::sync::Arc<tower_protocol::tls::rustls::ClientConfig>);
        server_hostname(name: impl Into<String>);
        ssl_handshake_timeout(timeout: Duration);
        ssl_shutdown_timeout(timeout: Duration);
    }
}

impl IntoFuture for OpenUnixConnection {
    type Output = io::Result<Streams>;
    type IntoFuture = OpenFuture;

    fn into_future(self) -> OpenFuture {
        Box::pin(async move {
            let (transport, protocol) = self.build().await?;
            Ok(pair(transport, &protocol))
        })
    }
}

impl fmt::Display for OpenUnixConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "open_unix_connection({})", self.inner.path().display())
    }
}
