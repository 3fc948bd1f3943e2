//! [`create_server`]: asyncio's `loop.create_server` — a TCP [`Server`] on one or several
//! hosts (or every interface), asyncio's keyword arguments as a builder ([`CreateServer`]) that
//! is awaited directly (`IntoFuture`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::Protocol;
use rustix::net::{AddressFamily, SocketType, sockopt};
use tower_transport::SocketAddress;

use crate::connect::{check_type, new_socket};
use crate::host::{Host, NoHost, resolve};
use crate::resolve::Family;
use crate::server::{Listener, Server, ServerInner};

/// asyncio's default `backlog`.
pub const DEFAULT_BACKLOG: u32 = 100;

/// A TCP server listening on `host` at `port` (asyncio's `loop.create_server`), on the running
/// loop (the single-thread loop, or the worker loop of a multi-thread runtime the calling task
/// runs on). `protocol_factory` is called once per accepted connection, on the loop.
///
/// Options are asyncio's keywords, as builder methods: [`family`](CreateServer::family),
/// [`reuse_address`](CreateServer::reuse_address) (on by default),
/// [`reuse_port`](CreateServer::reuse_port), [`backlog`](CreateServer::backlog) (100),
/// [`keep_alive`](CreateServer::keep_alive), [`start_serving`](CreateServer::start_serving)
/// (true). Await the builder to get the [`Server`]. Port 0: the kernel picks a port (one per
/// socket). An existing socket instead of host and port (asyncio's `sock=`) is
/// [`create_server_sock`].
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_protocol::{Protocol, create_server};
///
/// /// Says nothing, hears nothing.
/// struct Quiet;
/// impl Protocol for Quiet {}
///
/// let lp = EventLoop::new().unwrap();
/// let server = lp
///     .run_until_complete(async {
///         create_server(|| Quiet, ["127.0.0.1", "127.0.0.2"], 0)
///             .backlog(16)
///             .keep_alive(true)
///             .await
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(server.sockets().len(), 2);
/// assert!(server.is_serving());
/// server.close();
/// lp.close().unwrap();
/// ```
///
/// # Errors
///
/// The awaited builder fails if no loop runs; if a name does not resolve; if a `bind` fails
/// (other than with `EADDRNOTAVAIL`, which skips that address as asyncio does: a disabled
/// address family), with the address in the message and the OS error's kind (`AddrInUse`...);
/// if nothing could be bound; if the host is an empty list (`InvalidInput`).
///
/// # Cancel safety
///
/// Dropping the future before it completes closes every socket it made; no server exists.
pub fn create_server<F, P>(protocol_factory: F, host: impl Into<Host>, port: u16) -> CreateServer<F>
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    CreateServer {
        factory: protocol_factory,
        hosts: host.into(),
        port,
        family: Family::Any,
        reuse_address: None,
        reuse_port: false,
        backlog: DEFAULT_BACKLOG,
        keep_alive: false,
        start_serving: true,
        sock: None,
        #[cfg(feature = "tls")]
        tls: crate::tls::ServerTls::default(),
    }
}

/// The options of [`create_server`]; await it to get the [`Server`].
#[must_use = "a server is made only when the builder is awaited"]
pub struct CreateServer<F> {
    /// The protocol factory.
    factory: F,
    /// The hosts.
    hosts: Host,
    /// The port.
    port: u16,
    /// Which address families to keep.
    family: Family,
    /// `SO_REUSEADDR` (`None`: on, asyncio's default on Unix).
    reuse_address: Option<bool>,
    /// `SO_REUSEPORT`.
    reuse_port: bool,
    /// `listen` backlog and accepts per readiness.
    backlog: u32,
    /// `SO_KEEPALIVE` on the listening sockets (accepted sockets inherit it).
    keep_alive: bool,
    /// Start serving before returning.
    start_serving: bool,
    /// An existing socket instead of host and port ([`create_server_sock`]).
    sock: Option<OwnedFd>,
    /// TLS (feature `tls`): asyncio's `ssl`, `ssl_handshake_timeout`, `ssl_shutdown_timeout`.
    #[cfg(feature = "tls")]
    tls: crate::tls::ServerTls,
}

impl<F> fmt::Debug for CreateServer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CreateServer");
        d.field("hosts", &self.hosts)
            .field("port", &self.port)
            .field("family", &self.family)
            .field("reuse_address", &self.reuse_address)
            .field("reuse_port", &self.reuse_port)
            .field("backlog", &self.backlog)
            .field("keep_alive", &self.keep_alive)
            .field("start_serving", &self.start_serving)
            .field("sock", &self.sock);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls);
        d.finish_non_exhaustive()
    }
}

impl<F> CreateServer<F> {
    #[cfg(feature = "tls")]
    crate::tls::server_tls_options!();

    /// Keeps only the addresses of `family` (asyncio's `family=`; default both).
    pub fn family(mut self, family: Family) -> Self {
        self.family = family;
        self
    }

    /// `SO_REUSEADDR` on the listening sockets (asyncio's `reuse_address`; default on: a
    /// restarted server can bind while old connections are in `TIME_WAIT`).
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = Some(on);
        self
    }

    /// `SO_REUSEPORT` on the listening sockets (asyncio's `reuse_port`): several sockets —
    /// of this process or others — may listen on one address, the kernel spreading
    /// connections between them. Default off.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// The `listen` backlog, and the most connections accepted per readiness of a listening
    /// socket (asyncio's `backlog`; default [`DEFAULT_BACKLOG`], 100).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// `SO_KEEPALIVE` on the listening sockets, which the accepted ones inherit (asyncio 3.13's
    /// `keep_alive`). Default off.
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }

    /// Whether the server accepts connections as soon as it is made (asyncio's
    /// `start_serving`; default true). With false, call [`Server::start_serving`] or
    /// [`Server::serve_forever`] later; the sockets are bound but not listening until then.
    pub fn start_serving(mut self, on: bool) -> Self {
        self.start_serving = on;
        self
    }
}

/// A server on an existing bound stream socket, TCP or Unix (asyncio's
/// `loop.create_server(protocol_factory, sock=sock)`): as [`create_server`] without host and
/// port. The server owns the socket from now on: it is made non-blocking, listens with the
/// server's backlog when serving starts, and is closed by [`Server::close`].
///
/// Of the builder's options, [`backlog`](CreateServer::backlog) and
/// [`start_serving`](CreateServer::start_serving) apply; the ones about making a socket
/// (`family`, `reuse_address`, `reuse_port`, `keep_alive`) have no effect, as in asyncio.
///
/// The rule of every factory (decision 0013): an existing socket is its own `_sock` function,
/// never an option next to the address, so "both an address and a socket" cannot be written:
///
/// ```compile_fail
/// # struct Quiet;
/// # impl tower_protocol::Protocol for Quiet {}
/// let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let _ = tower_protocol::create_server(|| Quiet, "127.0.0.1", 0).sock(sock);
/// ```
///
/// # Errors
///
/// The awaited builder fails if no loop runs, or if `sock` is not a stream socket
/// (`InvalidInput`).
pub fn create_server_sock<F, P>(protocol_factory: F, sock: impl Into<OwnedFd>) -> CreateServer<F>
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    CreateServer {
        sock: Some(sock.into()),
        ..create_server(protocol_factory, Host::All, 0)
    }
}

/// The future of an awaited [`CreateServer`] (or [`CreateUnixServer`](crate::CreateUnixServer)).
#[must_use = "futures do nothing unless awaited"]
pub struct CreateServerFuture(Pin<Box<dyn Future<Output = io::Result<Server>>>>);

impl CreateServerFuture {
    /// Wraps the factory's body.
    pub(crate) fn new(f: impl Future<Output = io::Result<Server>> + 'static) -> Self {
        CreateServerFuture(Box::pin(f))
    }
}

impl fmt::Debug for CreateServerFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CreateServerFuture")
    }
}

impl Future for CreateServerFuture {
    type Output = io::Result<Server>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Server>> {
        self.0.as_mut().poll(cx)
    }
}

impl<F, P> IntoFuture for CreateServer<F>
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    type Output = io::Result<Server>;
    type IntoFuture = CreateServerFuture;

    fn into_future(self) -> CreateServerFuture {
        CreateServerFuture::new(self.run())
    }
}

impl<F, P> CreateServer<F>
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    /// The body of `create_server`.
    async fn run(self) -> io::Result<Server> {
        let lp = tower_loop::get_running_loop().map_err(io::Error::other)?;
        let listeners = match self.sock {
            Some(sock) => vec![existing_listener(sock, None)?],
            None => {
                let addrs = resolve(&self.hosts, self.port, self.family, NoHost::Wildcard).await?;
                let opts = SocketOptions {
                    reuse_address: self.reuse_address.unwrap_or(true),
                    reuse_port: self.reuse_port,
                    keep_alive: self.keep_alive,
                };
                bind_all(&addrs, &opts)?
            }
        };
        #[cfg(feature = "tls")]
        let make = self.tls.make_connection(&lp, self.factory)?;
        #[cfg(not(feature = "tls"))]
        let make = crate::server::make_connection(self.factory);
        finish(&lp, listeners, self.backlog, self.start_serving, make)
    }
}

/// Makes the server over `listeners` and starts it if asked.
pub(crate) fn finish(
    lp: &tower_loop::EventLoop,
    listeners: Vec<Listener>,
    backlog: u32,
    start_serving: bool,
    make: crate::server::MakeConnection,
) -> io::Result<Server> {
    let server = ServerInner::new(lp, listeners, backlog, make);
    if start_serving {
        if let Err(e) = server.start_serving() {
            server.close();
            return Err(e);
        }
    }
    Ok(Server(server))
}

/// The socket options `create_server` sets before `bind`.
struct SocketOptions {
    /// `SO_REUSEADDR`.
    reuse_address: bool,
    /// `SO_REUSEPORT`.
    reuse_port: bool,
    /// `SO_KEEPALIVE`.
    keep_alive: bool,
}

/// One bound socket per address (asyncio's loop in `create_server`).
fn bind_all(addrs: &[SocketAddr], opts: &SocketOptions) -> io::Result<Vec<Listener>> {
    let mut listeners = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let family = if addr.is_ipv4() {
            AddressFamily::INET
        } else {
            AddressFamily::INET6
        };
        // A family the system lacks: skip it, as asyncio does.
        let Ok(sock) = new_socket(family, SocketType::STREAM) else {
            continue;
        };
        if opts.reuse_address {
            sockopt::set_socket_reuseaddr(&sock, true)?;
        }
        if opts.reuse_port {
            sockopt::set_socket_reuseport(&sock, true)?;
        }
        if opts.keep_alive {
            sockopt::set_socket_keepalive(&sock, true)?;
        }
        if addr.is_ipv6() {
            // One socket per family: the IPv6 one does not take IPv4 too.
            sockopt::set_ipv6_v6only(&sock, true)?;
        }
        match rustix::net::bind(&sock, addr) {
            Ok(()) => {}
            // The family is not enabled (asyncio's bpo-30945).
            Err(e) if e == rustix::io::Errno::ADDRNOTAVAIL => continue,
            Err(e) => {
                let e = io::Error::from(e);
                return Err(io::Error::new(
                    e.kind(),
                    format!("error while attempting to bind on address {addr}: {e}"),
                ));
            }
        }
        let address = SocketAddress::of_socket(&sock)?;
        listeners.push(Listener::new(sock, address, None));
    }
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("could not bind on any address out of {addrs:?}"),
        ));
    }
    Ok(listeners)
}

/// A listener over an existing socket (`sock=`): checks it is a stream socket, makes it
/// non-blocking.
pub(crate) fn existing_listener(
    sock: OwnedFd,
    cleanup: Option<crate::server::UnixCleanup>,
) -> io::Result<Listener> {
    check_type(&sock, SocketType::STREAM, "stream")?;
    rustix::io::ioctl_fionbio(&sock, true)?;
    let address = SocketAddress::of_socket(&sock)?;
    Ok(Listener::new(sock, address, cleanup))
}
