//! [`create_unix_server`]: asyncio's `loop.create_unix_server` — a [`Server`] on a Unix stream
//! socket bound to a path (a stale socket file there is replaced) or, on Linux, to a name in
//! the abstract namespace; with 3.13's `cleanup_socket`, the path is unlinked at close if it is
//! still the server's socket.

use std::fmt;
use std::future::IntoFuture;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::Protocol;
use rustix::fs::FileType;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};
use tower_transport::SocketAddress;

use crate::connect::new_socket;
use crate::create_server::{CreateServerFuture, DEFAULT_BACKLOG, existing_listener, finish};
use crate::server::{Listener, Server, UnixCleanup};

/// A Unix stream server on `path` (asyncio's `loop.create_unix_server`), on the running loop.
/// `protocol_factory` is called once per accepted connection.
///
/// A `path` starting with a NUL byte is a name in Linux's abstract namespace (the rest of the
/// bytes; no file, nothing to clean up). Otherwise, a socket file already at `path` (a stale
/// one, from a server that did not clean up) is removed before binding, as asyncio does; any
/// other file there makes `bind` fail with `AddrInUse`.
///
/// Options: [`backlog`](CreateUnixServer::backlog) (100),
/// [`start_serving`](CreateUnixServer::start_serving) (true),
/// [`cleanup_socket`](CreateUnixServer::cleanup_socket) (true), and with feature `tls`
/// `ssl` and its timeouts, as `create_server`'s. An existing bound Unix socket
/// instead of a path (asyncio's `sock=`) is [`create_unix_server_sock`].
///
/// ```
/// use tower_loop::EventLoop;
/// use tower_protocol::{Protocol, create_unix_server};
///
/// struct Quiet;
/// impl Protocol for Quiet {}
///
/// let dir = std::env::temp_dir().join(format!("tower-doc-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("s.sock");
/// let lp = EventLoop::new().unwrap();
/// let server = lp
///     .run_until_complete(async { create_unix_server(|| Quiet, &path).await })
///     .unwrap()
///     .unwrap();
/// std::os::unix::net::UnixStream::connect(&path).unwrap();
/// server.close();
/// assert!(!path.exists()); // cleanup_socket: the path went with the server
/// lp.close().unwrap();
/// std::fs::remove_dir(&dir).unwrap();
/// ```
///
/// # Errors
///
/// The awaited builder fails if no loop runs, if `bind` fails (`AddrInUse` when another
/// server's socket or another file is there), or if the path is too long for a Unix address.
///
/// # Cancel safety
///
/// Dropping the future before it completes closes the socket it made (the path stays bound
/// to a dead socket file, which the next `create_unix_server` on it removes).
pub fn create_unix_server<F, P>(protocol_factory: F, path: impl AsRef<Path>) -> CreateUnixServer<F>
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    CreateUnixServer {
        factory: protocol_factory,
        path: path.as_ref().to_path_buf(),
        backlog: DEFAULT_BACKLOG,
        start_serving: true,
        cleanup_socket: true,
        sock: None,
        #[cfg(feature = "tls")]
        tls: crate::tls::ServerTls::default(),
    }
}

/// The options of [`create_unix_server`]; await it to get the [`Server`].
#[must_use = "a server is made only when the builder is awaited"]
pub struct CreateUnixServer<F> {
    /// The protocol factory.
    factory: F,
    /// The path (or abstract name, NUL first); empty with `sock`.
    path: PathBuf,
    /// `listen` backlog and accepts per readiness.
    backlog: u32,
    /// Start serving before returning.
    start_serving: bool,
    /// Unlink the path at close if it is still this server's socket.
    cleanup_socket: bool,
    /// An existing socket instead of a path ([`create_unix_server_sock`]).
    sock: Option<OwnedFd>,
    /// TLS (feature `tls`): asyncio's `ssl`, `ssl_handshake_timeout`, `ssl_shutdown_timeout`.
    #[cfg(feature = "tls")]
    tls: crate::tls::ServerTls,
}

impl<F> fmt::Debug for CreateUnixServer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CreateUnixServer");
        d.field("path", &self.path)
            .field("backlog", &self.backlog)
            .field("start_serving", &self.start_serving)
            .field("cleanup_socket", &self.cleanup_socket)
            .field("sock", &self.sock);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls);
        d.finish_non_exhaustive()
    }
}

impl<F> CreateUnixServer<F> {
    #[cfg(feature = "tls")]
    crate::tls::server_tls_options!();

    /// The `listen` backlog, and the most connections accepted per readiness (default 100).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Whether the server accepts connections as soon as it is made (default true).
    pub fn start_serving(mut self, on: bool) -> Self {
        self.start_serving = on;
        self
    }

    /// Whether [`Server::close`] unlinks the socket's path — only if the path still names the
    /// socket file this server bound, not a file put there since (asyncio 3.13's
    /// `cleanup_socket`; default true).
    pub fn cleanup_socket(mut self, on: bool) -> Self {
        self.cleanup_socket = on;
        self
    }
}

/// A Unix server on an existing bound Unix stream socket (asyncio's
/// `loop.create_unix_server(protocol_factory, sock=sock)`): as [`create_unix_server`] without
/// a path (the rule of every factory, decision 0013: an existing socket is its own `_sock`
/// function). The server owns the socket; with
/// [`cleanup_socket`](CreateUnixServer::cleanup_socket) (the default), its path is unlinked at
/// close as if the server had bound it.
///
/// A path and a socket together cannot be written:
///
/// ```compile_fail
/// # struct Quiet;
/// # impl tower_protocol::Protocol for Quiet {}
/// let sock = std::os::unix::net::UnixListener::bind("/tmp/x.sock").unwrap();
/// let _ = tower_protocol::create_unix_server(|| Quiet, "/tmp/x.sock").sock(sock);
/// ```
///
/// # Errors
///
/// The awaited builder fails if no loop runs, or if `sock` is not a stream socket
/// (`InvalidInput`).
pub fn create_unix_server_sock<F, P>(
    protocol_factory: F,
    sock: impl Into<OwnedFd>,
) -> CreateUnixServer<F>
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    CreateUnixServer {
        sock: Some(sock.into()),
        ..create_unix_server(protocol_factory, "")
    }
}

impl<F, P> IntoFuture for CreateUnixServer<F>
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    type Output = io::Result<Server>;
    type IntoFuture = CreateServerFuture;

    fn into_future(self) -> CreateServerFuture {
        CreateServerFuture::new(async move { self.run() })
    }
}

impl<F, P> CreateUnixServer<F>
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    /// The body of `create_unix_server` (nothing to wait for: no name to resolve).
    fn run(self) -> io::Result<Server> {
        let lp = tower_loop::get_running_loop().map_err(io::Error::other)?;
        let listener = match self.sock {
            Some(sock) => {
                let cleanup = match (self.cleanup_socket, SocketAddress::of_socket(&sock)?) {
                    (true, SocketAddress::UnixPath(p)) => identity(&p).ok(),
                    _ => None,
                };
                existing_listener(sock, cleanup)?
            }
            None => bind_unix(&self.path, self.cleanup_socket)?,
        };
        #[cfg(feature = "tls")]
        let make = self.tls.make_connection(&lp, self.factory)?;
        #[cfg(not(feature = "tls"))]
        let make = crate::server::make_connection(self.factory);
        finish(&lp, vec![listener], self.backlog, self.start_serving, make)
    }
}

/// The socket file's identity at `path`, for the cleanup at close.
fn identity(path: &Path) -> io::Result<UnixCleanup> {
    let st = rustix::fs::stat(path)?;
    #[allow(clippy::unnecessary_cast)] // `st_dev`/`st_ino` are not u64 everywhere
    Ok(UnixCleanup {
        path: path.to_path_buf(),
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
    })
}

/// The abstract name of `path` (its bytes after the leading NUL), if it is one.
fn abstract_name(path: &Path) -> Option<&[u8]> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().strip_prefix(b"\0")
}

/// A Unix stream socket bound to `path`.
fn bind_unix(path: &Path, cleanup_socket: bool) -> io::Result<Listener> {
    let (addr, file) = match abstract_name(path) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Some(name) => (SocketAddrUnix::new_abstract_name(name)?, false),
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Some(_) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this system has no abstract socket namespace",
            ));
        }
        None => {
            // A socket file left by a server that did not clean up: remove it (asyncio).
            if let Ok(st) = rustix::fs::stat(path) {
                if FileType::from_raw_mode(st.st_mode) == FileType::Socket {
                    let _ = rustix::fs::unlink(path);
                }
            }
            (SocketAddrUnix::new(path)?, true)
        }
    };
    let sock = new_socket(AddressFamily::UNIX, SocketType::STREAM)?;
    if let Err(e) = rustix::net::bind(&sock, &addr) {
        let e = io::Error::from(e);
        let msg = if e.kind() == io::ErrorKind::AddrInUse {
            format!("address {} is already in use", path.display())
        } else {
            format!("error while attempting to bind on {}: {e}", path.display())
        };
        return Err(io::Error::new(e.kind(), msg));
    }
    let cleanup = if file && cleanup_socket {
        Some(identity(path)?)
    } else {
        None
    };
    let address = SocketAddress::of_socket(&sock)?;
    Ok(Listener::new(sock, address, cleanup))
}
