//! The server-side helpers: [`start_server`] (asyncio's `start_server`, on tier 8's
//! `create_server`) and [`start_unix_server`]: each connection gets a reader/writer pair and
//! the callback's future runs as its own task (asyncio's `create_task` per client).

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
    Family, Host, Server, create_server, create_server_sock, create_unix_server,
    create_unix_server_sock,
};
use tower_transport::{BaseTransport, StreamTransport};

use crate::protocol::{DEFAULT_LIMIT, OnConnect, StreamReaderProtocol, check_limit};
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
struct CloseOnDrop(Option<StreamTransport>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.close();
        }
    }
}

/// The per-connection hook: runs `cb(reader, writer)` as a task on the running loop.
fn on_connect<C, Fut>(cb: Rc<C>) -> OnConnect
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    Box::new(move |reader, writer| {
        let transport = writer.transport().clone();
        let fut = cb(reader, writer);
        let task = tower_task::spawn_local(async move {
            let mut guard = CloseOnDrop(Some(transport));
            let out = fut.await;
            let transport = guard.0.take();
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

/// Starts a TCP server that calls `client_connected_cb(reader, writer)` for each connection
/// and runs the future it returns as a task (asyncio's `start_server`). Options on the
/// returned builder — [`limit`](StartServer::limit) and tier 8's `create_server` options,
/// forwarded — then `.await` it for the [`Server`](tower_protocol::Server).
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
pub fn start_server<C, Fut>(
    client_connected_cb: C,
    host: impl Into<Host>,
    port: u16,
) -> StartServer<C>
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    StartServer {
        cb: client_connected_cb,
        target: Target::At(host.into(), port),
        limit: DEFAULT_LIMIT,
        family: None,
        reuse_address: None,
        reuse_port: None,
        backlog: None,
        keep_alive: None,
        start_serving: None,
    }
}

/// asyncio's `start_server(client_connected_cb, sock=sock)`: serves on an existing bound stream
/// socket (TCP or Unix) instead of a host and port (tier 8's `create_server_sock`); otherwise
/// as [`start_server`], with the same options.
pub fn start_server_sock<C, Fut>(client_connected_cb: C, sock: impl Into<OwnedFd>) -> StartServer<C>
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    StartServer {
        target: Target::Sock(sock.into()),
        ..start_server(client_connected_cb, Host::All, 0)
    }
}

/// Where a server listens.
#[derive(Debug)]
enum Target<A> {
    /// A host and port, or a path.
    At(A, u16),
    /// An existing socket.
    Sock(OwnedFd),
}

/// The options of [`start_server`]; `.await` it.
#[must_use = "a server is made only when the builder is awaited"]
pub struct StartServer<C> {
    /// The client callback.
    cb: C,
    /// Where to listen.
    target: Target<Host>,
    /// The readers' limit.
    limit: usize,
    /// `create_server`'s options, forwarded when given.
    family: Option<Family>,
    /// `reuse_address`.
    reuse_address: Option<bool>,
    /// `reuse_port`.
    reuse_port: Option<bool>,
    /// `backlog`.
    backlog: Option<u32>,
    /// `keep_alive`.
    keep_alive: Option<bool>,
    /// `start_serving`.
    start_serving: Option<bool>,
}

impl<C> fmt::Debug for StartServer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartServer")
            .field("target", &self.target)
            .field("limit", &self.limit)
            .field("family", &self.family)
            .field("backlog", &self.backlog)
            .finish_non_exhaustive()
    }
}

impl<C> StartServer<C> {
    /// The readers' line limit (default [`DEFAULT_LIMIT`]; asyncio's `limit`).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
    /// `create_server`'s [`family`](tower_protocol::CreateServer::family).
    pub fn family(mut self, family: Family) -> Self {
        self.family = Some(family);
        self
    }
    /// `create_server`'s [`reuse_address`](tower_protocol::CreateServer::reuse_address).
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = Some(on);
        self
    }
    /// `create_server`'s [`reuse_port`](tower_protocol::CreateServer::reuse_port).
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = Some(on);
        self
    }
    /// `create_server`'s [`backlog`](tower_protocol::CreateServer::backlog).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = Some(backlog);
        self
    }
    /// `create_server`'s [`keep_alive`](tower_protocol::CreateServer::keep_alive).
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = Some(on);
        self
    }
    /// `create_server`'s [`start_serving`](tower_protocol::CreateServer::start_serving).
    pub fn start_serving(mut self, on: bool) -> Self {
        self.start_serving = Some(on);
        self
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

impl<C, Fut> IntoFuture for StartServer<C>
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    type Output = io::Result<Server>;
    type IntoFuture = StartServerFuture;

    fn into_future(self) -> StartServerFuture {
        let limit = self.limit;
        let cb = Rc::new(self.cb);
        let factory = move || StreamReaderProtocol::build(limit, Some(on_connect(cb.clone())));
        let mut b = match self.target {
            Target::At(host, port) => create_server(factory, host, port),
            Target::Sock(sock) => create_server_sock(factory, sock),
        };
        if let Some(v) = self.family {
            b = b.family(v);
        }
        if let Some(v) = self.reuse_address {
            b = b.reuse_address(v);
        }
        if let Some(v) = self.reuse_port {
            b = b.reuse_port(v);
        }
        if let Some(v) = self.backlog {
            b = b.backlog(v);
        }
        if let Some(v) = self.keep_alive {
            b = b.keep_alive(v);
        }
        if let Some(v) = self.start_serving {
            b = b.start_serving(v);
        }
        StartServerFuture(Box::pin(async move {
            check_limit(limit)?;
            b.await
        }))
    }
}

/// Starts a Unix stream server at `path` that calls `client_connected_cb(reader, writer)` for
/// each connection, as [`start_server`] does (asyncio's `start_unix_server`). Options:
/// [`limit`](StartUnixServer::limit) and `create_unix_server`'s, forwarded.
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
) -> StartUnixServer<C>
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    StartUnixServer {
        cb: client_connected_cb,
        target: Target::At(path.into(), 0),
        limit: DEFAULT_LIMIT,
        backlog: None,
        start_serving: None,
        cleanup_socket: None,
    }
}

/// asyncio's `start_unix_server(client_connected_cb, sock=sock)`: serves on an existing bound
/// Unix stream socket (tier 8's `create_unix_server_sock`); otherwise as
/// [`start_unix_server`].
pub fn start_unix_server_sock<C, Fut>(
    client_connected_cb: C,
    sock: impl Into<OwnedFd>,
) -> StartUnixServer<C>
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    StartUnixServer {
        target: Target::Sock(sock.into()),
        ..start_unix_server(client_connected_cb, "")
    }
}

/// The options of [`start_unix_server`]; `.await` it.
#[must_use = "a server is made only when the builder is awaited"]
pub struct StartUnixServer<C> {
    /// The client callback.
    cb: C,
    /// The socket's path (the port is unused), or the socket.
    target: Target<PathBuf>,
    /// The readers' limit.
    limit: usize,
    /// `backlog`.
    backlog: Option<u32>,
    /// `start_serving`.
    start_serving: Option<bool>,
    /// `cleanup_socket`.
    cleanup_socket: Option<bool>,
}

impl<C> fmt::Debug for StartUnixServer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartUnixServer")
            .field("target", &self.target)
            .field("limit", &self.limit)
            .field("backlog", &self.backlog)
            .finish_non_exhaustive()
    }
}

impl<C> StartUnixServer<C> {
    /// The readers' line limit (default [`DEFAULT_LIMIT`]).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
    /// `create_unix_server`'s [`backlog`](tower_protocol::CreateUnixServer::backlog).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = Some(backlog);
        self
    }
    /// `create_unix_server`'s [`start_serving`](tower_protocol::CreateUnixServer::start_serving).
    pub fn start_serving(mut self, on: bool) -> Self {
        self.start_serving = Some(on);
        self
    }
    /// `create_unix_server`'s [`cleanup_socket`](tower_protocol::CreateUnixServer::cleanup_socket).
    pub fn cleanup_socket(mut self, on: bool) -> Self {
        self.cleanup_socket = Some(on);
        self
    }
}

impl<C, Fut> IntoFuture for StartUnixServer<C>
where
    C: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    type Output = io::Result<Server>;
    type IntoFuture = StartServerFuture;

    fn into_future(self) -> StartServerFuture {
        let limit = self.limit;
        let cb = Rc::new(self.cb);
        let factory = move || StreamReaderProtocol::build(limit, Some(on_connect(cb.clone())));
        let mut b = match self.target {
            Target::At(path, _) => create_unix_server(factory, path),
            Target::Sock(sock) => create_unix_server_sock(factory, sock),
        };
        if let Some(v) = self.backlog {
            b = b.backlog(v);
        }
        if let Some(v) = self.start_serving {
            b = b.start_serving(v);
        }
        if let Some(v) = self.cleanup_socket {
            b = b.cleanup_socket(v);
        }
        StartServerFuture(Box::pin(async move {
            check_limit(limit)?;
            b.await
        }))
    }
}
