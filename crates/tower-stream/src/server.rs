//! The server-side helpers: [`start_server`] (asyncio's `start_server`, on tier 8's
//! `create_server`) and [`start_unix_server`]: each connection gets a reader/writer pair and
//! the callback's future runs as its own task (asyncio's `create_task` per client). Each
//! builder holds tier 8's builder and the readers' `limit`: tier 8's options are forwarded
//! (`configure`, `forward!`), never restated.

use std::cell::Cell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tower_loop::ExceptionContext;
use tower_protocol::{
    CreateServer, CreateUnixServer, Family, Host, Server, create_server, create_server_sock,
    create_unix_server, create_unix_server_sock,
};
use tower_transport::{BaseTransport, StreamTransport};

use crate::open::{SharedLimit, StreamBuilder, StreamFactory, forward};
use crate::protocol::{DEFAULT_LIMIT, OnConnect, Shared, StreamReaderProtocol};
use crate::reader::StreamReader;
use crate::writer::StreamWriter;

/// What a client callback's future may end with: `()`, or a `Result` whose error is reported
/// to the loop's exception handler ("Unhandled exception in client_connected_cb: ...") before
/// the client's transport is closed, as asyncio does with an exception.
pub trait ClientOutcome {
    /// The error to report, if any.
    fn into_error(self) -> Option<String>;
}

impl ClientOutcome for () {
    fn into_error(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Display> ClientOutcome for Result<(), E> {
    fn into_error(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

/// Closes the client's transport unless disarmed (the task ended early: cancelled or dropped).
/// It holds the shared state, not a transport: after `start_tls` the transport to close is the
/// TLS one (close_notify first), which the state holds.
struct CloseOnDrop(Option<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take().and_then(|core| current_transport(&core)) {
            t.close();
        }
    }
}

/// The connection's transport now (none once the connection is lost).
fn current_transport(core: &Shared) -> Option<StreamTransport> {
    core.try_borrow().ok().and_then(|c| c.transport.clone())
}

/// The per-connection hook: runs `cb(reader, writer)` as a task on the running loop.
fn on_connect<C, Fut>(cb: Rc<C>) -> OnConnect
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    Box::new(move |reader, writer| {
        let core = writer.core.clone();
        let fut = cb(reader, writer);
        let task = tower_task::spawn_local(async move {
            let mut guard = CloseOnDrop(Some(core));
            let out = fut.await;
            let transport = guard.0.take().and_then(|core| current_transport(&core));
            if let (Some(msg), Some(t)) = (out.into_error(), transport) {
                if let Ok(lp) = tower_loop::get_running_loop() {
                    lp.call_exception_handler(&ExceptionContext::new(format!(
                        "Unhandled exception in client_connected_cb: {msg}"
                    )));
                }
                t.close();
            }
        });
        drop(task); // detached: it runs on its own, as asyncio's task
    })
}

/// A factory of server-side protocols (each runs `cb` on its connection) and its limit.
fn server_factory<C, Fut>(cb: C) -> (StreamFactory, SharedLimit)
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    let limit = Rc::new(Cell::new(DEFAULT_LIMIT));
    let l = limit.clone();
    let cb = Rc::new(cb);
    let factory: StreamFactory =
        Box::new(move || StreamReaderProtocol::build(l.get(), Some(on_connect(cb.clone()))));
    (factory, limit)
}

/// Starts a TCP server that calls `client_connected_cb(reader, writer)` for each connection
/// and runs the future it returns as a task (asyncio's `start_server`). Options on the
/// returned builder — [`limit`](StartServer::limit) and tier 8's `create_server` options,
/// forwarded (each by name, or any with [`configure`](StartServer::configure); `ssl` with
/// feature `tls`) — then `.await` it for the [`Server`](tower_protocol::Server).
///
/// When the client's future ends with an error ([`ClientOutcome`]) the error goes to the
/// loop's exception handler and the transport is closed; when the task is cancelled or
/// dropped before it ends, the transport is closed too (asyncio's done callback). Dropping the
/// writer closes the transport as well.
///
/// See [`StreamWriter`] for an echo server.
///
/// # Errors
///
/// `create_server`'s; `InvalidInput` for a limit of 0.
///
/// # Cancellation
///
/// As `create_server`'s: dropped mid-way, every socket it made is closed.
pub fn start_server<C, Fut>(client_connected_cb: C, host: impl Into<Host>, port: u16) -> StartServer
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    let (factory, limit) = server_factory(client_connected_cb);
    StartServer {
        inner: create_server(factory, host, port),
        limit,
    }
}

/// asyncio's `start_server(client_connected_cb, sock=sock)`: serves on an existing bound stream
/// socket (TCP or Unix) instead of a host and port (tier 8's `create_server_sock`); otherwise
/// as [`start_server`], with the same options.
pub fn start_server_sock<C, Fut>(client_connected_cb: C, sock: impl Into<OwnedFd>) -> StartServer
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    let (factory, limit) = server_factory(client_connected_cb);
    StartServer {
        inner: create_server_sock(factory, sock),
        limit,
    }
}

/// The options of [`start_server`]: tier 8's [`CreateServer`] and the readers' limit;
/// `.await` it.
pub type StartServer = StreamBuilder<CreateServer<StreamFactory>>;

impl StartServer {
    forward! { "CreateServer";
        family(family: Family);
        reuse_address(on: bool);
        reuse_port(on: bool);
        backlog(backlog: u32);
        keep_alive(on: bool);
        start_serving(on: bool);
        #[cfg(feature = "tls")]
        ssl(config: std::sync::Arc<tower_protocol::tls::rustls::ServerConfig>);
        #[cfg(feature = "tls")]
        ssl_handshake_timeout(timeout: std::time::Duration);
        #[cfg(feature = "tls")]
        ssl_shutdown_timeout(timeout: std::time::Duration);
    }
}

/// The future of an awaited [`StartServer`] or [`StartUnixServer`]: the server.
#[must_use = "futures do nothing unless awaited"]
pub struct StartServerFuture(Pin<Box<dyn Future<Output = io::Result<Server>>>>);

impl fmt::Debug for StartServerFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartServerFuture")
    }
}

impl Future for StartServerFuture {
    type Output = io::Result<Server>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Server>> {
        self.0.as_mut().poll(cx)
    }
}

impl IntoFuture for StartServer {
    type Output = io::Result<Server>;
    type IntoFuture = StartServerFuture;

    fn into_future(self) -> StartServerFuture {
        StartServerFuture(Box::pin(self.build()))
    }
}

/// Starts a Unix stream server at `path` that calls `client_connected_cb(reader, writer)` for
/// each connection, as [`start_server`] does (asyncio's `start_unix_server`). Options:
/// [`limit`](StartUnixServer::limit) and `create_unix_server`'s, forwarded (`ssl` with
/// feature `tls`).
///
/// # Errors
///
/// `create_unix_server`'s; `InvalidInput` for a limit of 0.
///
/// # Cancellation
///
/// Dropped mid-way, the socket it made is closed.
pub fn start_unix_server<C, Fut>(
    client_connected_cb: C,
    path: impl Into<PathBuf>,
) -> StartUnixServer
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    let (factory, limit) = server_factory(client_connected_cb);
    StartUnixServer {
        inner: create_unix_server(factory, path.into()),
        limit,
    }
}

/// asyncio's `start_unix_server(client_connected_cb, sock=sock)`: serves on an existing bound
/// Unix stream socket (tier 8's `create_unix_server_sock`); otherwise as
/// [`start_unix_server`].
pub fn start_unix_server_sock<C, Fut>(
    client_connected_cb: C,
    sock: impl Into<OwnedFd>,
) -> StartUnixServer
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    let (factory, limit) = server_factory(client_connected_cb);
    StartUnixServer {
        inner: create_unix_server_sock(factory, sock),
        limit,
    }
}

/// The options of [`start_unix_server`]: tier 8's [`CreateUnixServer`] and the readers'
/// limit; `.await` it.
pub type StartUnixServer = StreamBuilder<CreateUnixServer<StreamFactory>>;

impl StartUnixServer {
    forward! { "CreateUnixServer";
        backlog(backlog: u32);
        start_serving(on: bool);
        cleanup_socket(on: bool);
        #[cfg(feature = "tls")]
        ssl(config: std::sync::Arc<tower_protocol::tls::rustls::ServerConfig>);
        #[cfg(feature = "tls")]
        ssl_handshake_timeout(timeout: std::time::Duration);
        #[cfg(feature = "tls")]
        ssl_shutdown_timeout(timeout: std::time::Duration);
    }
}

impl IntoFuture for StartUnixServer {
    type Output = io::Result<Server>;
    type IntoFuture = StartServerFuture;

    fn into_future(self) -> StartServerFuture {
        StartServerFuture(Box::pin(self.build()))
    }
}
