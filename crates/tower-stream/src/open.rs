//! The client-side helpers: [`open_connection`] (asyncio's `open_connection`, on tier 8's
//! `create_connection` with its options forwarded) and [`open_unix_connection`]; each gives a
//! [`StreamReader`]/[`StreamWriter`] pair on one [`StreamReaderProtocol`].

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use tower_protocol::{Buffered, Family, Host, create_connection, create_unix_connection};
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
/// and tier 8's `create_connection` options, forwarded — then `.await` it.
///
/// ```
/// use std::io::Write;
/// use std::net::TcpListener;
/// use tower_stream::open_connection;
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = listener.local_addr().unwrap().port();
/// let server = std::thread::spawn(move || {
///     let (mut s, _) = listener.accept().unwrap();
///     s.write_all(b"hello\nworld").unwrap();
/// });
/// tower_task::run(async move {
///     let (reader, writer) = open_connection("127.0.0.1", port).limit(1024).await.unwrap();
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
/// `create_connection`'s (resolution, connection, outside a running loop); `InvalidInput` for
/// a limit of 0.
///
/// # Cancellation
///
/// As `create_connection`'s: dropped mid-way, every socket it opened is closed.
pub fn open_connection(host: impl Into<Host>, port: u16) -> OpenConnection {
    OpenConnection {
        host: host.into(),
        port,
        limit: DEFAULT_LIMIT,
        happy_eyeballs_delay: None,
        interleave: None,
        all_errors: false,
        local_addr: None,
        family: Family::Any,
    }
}

/// The options of [`open_connection`]; `.await` it.
#[must_use = "a connection is made only when the builder is awaited"]
#[derive(Debug, Clone)]
pub struct OpenConnection {
    /// Where to connect.
    host: Host,
    /// The port.
    port: u16,
    /// The reader's limit.
    limit: usize,
    /// `create_connection`'s `happy_eyeballs_delay`.
    happy_eyeballs_delay: Option<Duration>,
    /// `create_connection`'s `interleave`.
    interleave: Option<usize>,
    /// `create_connection`'s `all_errors`.
    all_errors: bool,
    /// `create_connection`'s `local_addr`.
    local_addr: Option<(Host, u16)>,
    /// `create_connection`'s `family`.
    family: Family,
}

impl OpenConnection {
    /// The reader's line limit (default [`DEFAULT_LIMIT`], 64 KiB; asyncio's `limit`).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Happy eyeballs (`create_connection`'s
    /// [`happy_eyeballs_delay`](tower_protocol::CreateConnection::happy_eyeballs_delay)).
    pub fn happy_eyeballs_delay(mut self, delay: Duration) -> Self {
        self.happy_eyeballs_delay = Some(delay);
        self
    }

    /// Address family interleaving (`create_connection`'s
    /// [`interleave`](tower_protocol::CreateConnection::interleave)).
    pub fn interleave(mut self, count: usize) -> Self {
        self.interleave = Some(count);
        self
    }

    /// Report every error (`create_connection`'s
    /// [`all_errors`](tower_protocol::CreateConnection::all_errors)).
    pub fn all_errors(mut self, all: bool) -> Self {
        self.all_errors = all;
        self
    }

    /// Bind before connecting (`create_connection`'s
    /// [`local_addr`](tower_protocol::CreateConnection::local_addr)).
    pub fn local_addr(mut self, host: impl Into<Host>, port: u16) -> Self {
        self.local_addr = Some((host.into(), port));
        self
    }

    /// Keep only addresses of `family` (`create_connection`'s
    /// [`family`](tower_protocol::CreateConnection::family)).
    pub fn family(mut self, family: Family) -> Self {
        self.family = family;
        self
    }

    /// What awaiting the builder runs.
    async fn run(self) -> io::Result<Streams> {
        check_limit(self.limit)?;
        let limit = self.limit;
        let mut b = create_connection(
            move || StreamReaderProtocol::build(limit, None),
            self.host,
            self.port,
        )
        .all_errors(self.all_errors)
        .family(self.family);
        if let Some(d) = self.happy_eyeballs_delay {
            b = b.happy_eyeballs_delay(d);
        }
        if let Some(n) = self.interleave {
            b = b.interleave(n);
        }
        if let Some((host, port)) = self.local_addr {
            b = b.local_addr(host, port);
        }
        let (transport, protocol) = b.await?;
        Ok(pair(transport, &protocol))
    }
}

impl IntoFuture for OpenConnection {
    type Output = io::Result<Streams>;
    type IntoFuture = OpenFuture;

    fn into_future(self) -> OpenFuture {
        Box::pin(self.run())
    }
}

/// Opens a Unix stream connection to `path` and returns its reader and writer (asyncio's
/// `open_unix_connection`); `.limit(n)` on the builder, then `.await` it.
///
/// # Errors
///
/// `create_unix_connection`'s; `InvalidInput` for a limit of 0.
///
/// # Cancellation
///
/// Dropped mid-way, the socket it opened is closed.
pub fn open_unix_connection(path: impl Into<PathBuf>) -> OpenUnixConnection {
    OpenUnixConnection {
        path: path.into(),
        limit: DEFAULT_LIMIT,
    }
}

/// The options of [`open_unix_connection`]; `.await` it.
#[must_use = "a connection is made only when the builder is awaited"]
#[derive(Debug, Clone)]
pub struct OpenUnixConnection {
    /// The socket's path.
    path: PathBuf,
    /// The reader's limit.
    limit: usize,
}

impl OpenUnixConnection {
    /// The reader's line limit (default [`DEFAULT_LIMIT`]).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

impl IntoFuture for OpenUnixConnection {
    type Output = io::Result<Streams>;
    type IntoFuture = OpenFuture;

    fn into_future(self) -> OpenFuture {
        Box::pin(async move {
            check_limit(self.limit)?;
            let limit = self.limit;
            let (transport, protocol) = create_unix_connection(
                move || StreamReaderProtocol::build(limit, None),
                &self.path,
            )
            .await?;
            Ok(pair(transport, &protocol))
        })
    }
}

impl fmt::Display for OpenUnixConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "open_unix_connection({})", self.path.display())
    }
}
