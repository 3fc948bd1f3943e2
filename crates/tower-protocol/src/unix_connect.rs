//! [`create_unix_connection`] (asyncio's `loop.create_unix_connection`) and its builder
//! [`CreateUnixConnection`]: a Unix stream socket connected to a path without blocking the
//! loop, handed to a protocol on the running loop; with `ssl` (feature `tls`), under TLS.
//! An already connected Unix socket goes through [`create_connection_sock`](crate::create_connection_sock).

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};
use tower_transport::StreamTransport;

use crate::client::{ClientTls, hand_over, into_connection_future};
use crate::connect::running_loop;
use crate::protocols::Protocol;

/// Connects a Unix stream socket to `path` and hands it to a new protocol made by `factory`
/// on the running loop; `.await` the returned builder, which resolves once `connection_made`
/// has run. With `ssl` (feature `tls`; `server_hostname` is then
/// required), the handshake runs first and the protocol gets the app-side transport.
///
/// The connect is the loop's [`sock_connect`](tower_loop::EventLoop::sock_connect) (as asyncio's
/// is): it never blocks the loop, and a listener whose backlog is full (`EAGAIN`) is asked
/// again after a short, growing pause (1 ms up to 64 ms), as a blocking connect would wait.
///
/// # Errors
///
/// What `connect(2)` reports (`NotFound` for no such path, `ConnectionRefused` for a path no
/// one listens on); outside a running loop, `Other`; with `ssl`, `InvalidInput` without
/// `server_hostname`, and the handshake's errors (as `create_connection`'s).
///
/// # Cancellation
///
/// Dropping the future closes the socket (or, once the transport exists, the transport).
///
/// ```
/// use std::os::unix::net::UnixListener;
/// use tower_protocol::{Protocol, create_unix_connection};
/// use tower_transport::BaseTransport;
///
/// struct Quiet;
/// impl Protocol for Quiet {}
///
/// let dir = std::env::temp_dir().join(format!("tower-unix-doc-{}", std::process::id()));
/// let _ = std::fs::remove_file(&dir);
/// let listener = UnixListener::bind(&dir).unwrap();
/// tower_task::run(async {
///     let (t, _p) = create_unix_connection(|| Quiet, &dir).await.unwrap();
///     t.close();
/// })
/// .unwrap();
/// drop(listener);
/// std::fs::remove_file(&dir).unwrap();
/// ```
pub fn create_unix_connection<P, F>(
    factory: F,
    path: impl AsRef<Path>,
) -> CreateUnixConnection<P, F>
where
    P: Protocol,
    F: FnOnce() -> P + 'static,
{
    CreateUnixConnection {
        factory,
        path: path.as_ref().to_path_buf(),
        tls: ClientTls::default(),
        _protocol: PhantomData,
    }
}

/// The options of [`create_unix_connection`] (TLS, feature `tls`); `.await` it.
#[must_use = "a connection is made only when the builder is awaited"]
pub struct CreateUnixConnection<P, F> {
    /// Makes the protocol.
    factory: F,
    /// The socket's path.
    path: PathBuf,
    /// TLS (options only with feature `tls`).
    tls: ClientTls,
    /// The protocol type.
    _protocol: PhantomData<fn() -> P>,
}

impl<P, F> fmt::Debug for CreateUnixConnection<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CreateUnixConnection");
        d.field("path", &self.path);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls);
        d.finish_non_exhaustive()
    }
}

impl<P, F> CreateUnixConnection<P, F>
where
    P: Protocol,
    F: FnOnce() -> P + 'static,
{
    /// The path to connect to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    #[cfg(feature = "tls")]
    crate::tls::client_tls_options!(
        "which must be given: a Unix socket has no host to default from (asyncio's rule; `InvalidInput` otherwise)."
    );

    /// What awaiting the builder runs.
    async fn run(self) -> io::Result<(StreamTransport, Rc<RefCell<P>>)> {
        let lp = running_loop()?;
        let tls = self.tls.resolve(None)?;
        let addr = SocketAddrUnix::new(&self.path)?;
        let sock = crate::connect::new_socket(AddressFamily::UNIX, SocketType::STREAM)?;
        lp.sock_connect(&sock, addr).await?;
        hand_over(&lp, sock, self.factory, tls).await
    }
}

into_connection_future!(CreateUnixConnection);
