//! [`Server`]: asyncio's `Server` object — the handle and its methods, and the state behind
//! it (`ServerInner`: starting to serve, closing). The listening sockets are
//! `server_listener.rs`, the clients' bookkeeping `server_clients.rs`, the futures that wait on
//! the server (`wait_closed`, `serve_forever`) `server_wait.rs`, the accept loop `accept.rs`.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::Waker;

use tower_loop::EventLoop;
use tower_transport::{BaseTransport, DetachListener, SocketAddress, WriteTransport};

use crate::server_clients::{Clients, Detacher};
pub(crate) use crate::server_clients::{MakeConnection, make_connection};
pub(crate) use crate::server_listener::{Listener, UnixCleanup};
use crate::server_wait::ForeverState;
pub use crate::server_wait::{ServeForever, WaitClosed};

/// A server: what [`create_server`](crate::create_server) and
/// [`create_unix_server`](crate::create_unix_server) resolve to (asyncio's `Server`). A cheap
/// handle: clones are the same server. `!Send`: it lives on the loop that made it (the
/// single-thread loop or one worker loop of the multi-thread runtime).
///
/// While it serves, each connection its listening sockets accept gets a fresh protocol from the
/// factory and a [`SocketTransport`](tower_transport::SocketTransport); the server keeps track of those transports (its
/// *clients*) until their `connection_lost`.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
/// use tower_loop::EventLoop;
/// use tower_protocol::{Protocol, create_server};
/// use tower_transport::{SocketAddress, StreamTransport, WriteTransport};
///
/// /// Echoes what it receives.
/// #[derive(Default)]
/// struct Echo(Option<StreamTransport>);
/// impl Protocol for Echo {
///     fn connection_made(&mut self, t: StreamTransport) {
///         self.0 = Some(t);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.as_ref().unwrap().write(data).unwrap();
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         self.0 = None;
///     }
/// }
///
/// let lp = EventLoop::new().unwrap();
/// lp.run_until_complete(async {
///     let server = create_server(Echo::default, "127.0.0.1", 0).await.unwrap();
///     let SocketAddress::Inet(addr) = server.sockets()[0].address.clone() else { panic!() };
///     // A blocking client on another thread; the loop serves it here.
///     let client = std::thread::spawn(move || {
///         let mut c = TcpStream::connect(addr).unwrap();
///         c.write_all(b"hello").unwrap();
///         let mut got = [0; 5];
///         c.read_exact(&mut got).unwrap();
///         got
///     });
///     while !client.is_finished() {
///         tower_task::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(&client.join().unwrap(), b"hello");
///     server.close();
///     server.wait_closed().await; // the client hung up: its transport is gone
/// })
/// .unwrap();
/// lp.close().unwrap();
/// ```
///
/// It stays on its loop's thread:
///
/// ```compile_fail
/// fn send<T: Send>() {}
/// send::<tower_protocol::Server>();
/// ```
#[derive(Clone)]
pub struct Server(pub(crate) Rc<ServerInner>);

/// The server's state. Every field is a `Cell` or a `RefCell` borrowed only for a statement:
/// nothing is borrowed while a transport, a protocol factory or a waker runs.
pub(crate) struct ServerInner {
    /// The loop it serves on.
    pub(crate) lp: EventLoop,
    /// The listening sockets; `None` once closed (asyncio's `_sockets = None`).
    pub(crate) listeners: RefCell<Option<Vec<Rc<Listener>>>>,
    /// `listen` backlog, and the most connections accepted per readiness.
    pub(crate) backlog: u32,
    /// Whether the listening sockets are being accepted from (asyncio's `_serving`).
    pub(crate) serving: Cell<bool>,
    /// Makes a connection's protocol and transport.
    pub(crate) make: MakeConnection,
    /// The connections accepted and not yet lost.
    pub(crate) clients: RefCell<Clients>,
    /// `wait_closed` callers' wakers.
    pub(crate) waiters: RefCell<Vec<Waker>>,
    /// Closed and every client gone: `wait_closed` returns at once (asyncio's `_waiters is
    /// None`).
    pub(crate) finished: Cell<bool>,
    /// A `serve_forever` is pending (asyncio's `_serving_forever_fut`).
    pub(crate) forever: Cell<bool>,
    /// Its waker.
    pub(crate) forever_waker: RefCell<Option<Waker>>,
    /// What each client's transport calls when it is done (asyncio's `_detach`): this
    /// server, weakly; one for all clients.
    pub(crate) detacher: Rc<dyn DetachListener>,
    /// Fd exhaustion handling (accept.rs): the reserved fd, the back-off.
    pub(crate) exhaustion: crate::accept::Exhaustion,
}

impl ServerInner {
    /// A server over `listeners` on `lp`, not serving yet.
    pub(crate) fn new(
        lp: &EventLoop,
        listeners: Vec<Listener>,
        backlog: u32,
        make: MakeConnection,
    ) -> Rc<ServerInner> {
        Rc::new_cyclic(|weak| ServerInner {
            detacher: Rc::new(Detacher(weak.clone())),
            lp: lp.clone(),
            listeners: RefCell::new(Some(listeners.into_iter().map(Rc::new).collect())),
            backlog,
            serving: Cell::new(false),
            make,
            clients: RefCell::default(),
            waiters: RefCell::default(),
            finished: Cell::new(false),
            forever: Cell::new(false),
            forever_waker: RefCell::new(None),
            exhaustion: crate::accept::Exhaustion::new(),
        })
    }

    /// The listening sockets, cloned out (empty once closed).
    pub(crate) fn listeners(&self) -> Vec<Rc<Listener>> {
        self.listeners.borrow().clone().unwrap_or_default()
    }

    /// Whether `close` ran.
    pub(crate) fn is_closed(&self) -> bool {
        self.listeners.borrow().is_none()
    }

    /// asyncio's `_start_serving`: `listen`, then the accept readers.
    pub(crate) fn start_serving(self: &Rc<Self>) -> io::Result<()> {
        if self.serving.get() {
            return Ok(());
        }
        if self.is_closed() {
            return Err(io::Error::other(ServerError::Closed));
        }
        let listeners = self.listeners();
        for l in &listeners {
            let backlog = i32::try_from(self.backlog).unwrap_or(i32::MAX);
            rustix::net::listen(&l.fd, backlog)?;
        }
        self.exhaustion.open_reserve();
        for l in &listeners {
            crate::accept::start_reading(self, l)?;
        }
        self.serving.set(true);
        Ok(())
    }

    /// asyncio's `close`.
    pub(crate) fn close(&self) {
        let Some(listeners) = self.listeners.borrow_mut().take() else {
            return;
        };
        for l in &listeners {
            crate::accept::stop_reading(self, l);
            if let Some(t) = l.retry.borrow_mut().take() {
                t.cancel();
            }
            if let Some(c) = &l.cleanup {
                c.run();
            }
        }
        drop(listeners); // the listening sockets close here
        self.serving.set(false);
        self.exhaustion.close_reserve();
        if self.forever.get() {
            let w = self.forever_waker.borrow_mut().take();
            if let Some(w) = w {
                w.wake();
            }
        }
        if self.clients.borrow().len() == 0 {
            self.wakeup();
        }
    }

    /// Wakes `wait_closed` callers for good (asyncio's `_wakeup`).
    pub(crate) fn wakeup(&self) {
        self.finished.set(true);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
    }

    /// Makes the connection of the accepted socket `fd` (accept.rs calls this).
    pub(crate) fn connection(self: &Rc<Self>, fd: OwnedFd) {
        (self.make)(self, fd);
    }
}

impl Drop for ServerInner {
    /// A server dropped without `close` (its last handle gone while not serving, or its loop
    /// closed): the listening sockets close with it; a Unix path it still owns is unlinked.
    fn drop(&mut self) {
        if let Some(listeners) = self.listeners.get_mut().take() {
            for l in &listeners {
                if let Some(c) = &l.cleanup {
                    c.run();
                }
            }
        }
    }
}

/// A listening socket of a [`Server`], as [`Server::sockets`] lists it (asyncio's
/// `TransportSocket`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSocket {
    /// The address it listens on (with the port the kernel chose for port 0).
    pub address: SocketAddress,
    /// Its fd, owned by the server: valid until [`Server::close`]; do not close it.
    pub fd: RawFd,
}

/// What [`Server::serve_forever`] refuses (asyncio's `RuntimeError`s), and why it could not
/// start serving.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// Another `serve_forever` of this server is pending.
    AlreadyServingForever,
    /// The server is closed.
    Closed,
    /// Starting to serve failed (`listen`, or the loop's reader registration).
    Io(io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::AlreadyServingForever => {
                f.write_str("the server is already being awaited on serve_forever()")
            }
            ServerError::Closed => f.write_str("the server is closed"),
            ServerError::Io(e) => write!(f, "the server could not start serving: {e}"),
        }
    }
}

impl Error for ServerError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ServerError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl Server {
    /// The loop the server runs on (asyncio's `get_loop`).
    pub fn get_loop(&self) -> EventLoop {
        self.0.lp.clone()
    }

    /// Whether it accepts connections (asyncio's `is_serving`): after
    /// [`start_serving`](Self::start_serving) (or `create_server` with `start_serving(true)`,
    /// the default), until [`close`](Self::close).
    pub fn is_serving(&self) -> bool {
        self.0.serving.get()
    }

    /// The listening sockets (asyncio's `sockets`); empty once closed.
    pub fn sockets(&self) -> Vec<ServerSocket> {
        self.0
            .listeners()
            .iter()
            .map(|l| ServerSocket {
                address: l.address.clone(),
                fd: l.fd.as_raw_fd(),
            })
            .collect()
    }

    /// Starts accepting connections, if it does not already (asyncio's `start_serving`; the
    /// sockets `listen` with the server's backlog now). Synchronous here: the loop watches the
    /// sockets from this call on (asyncio's coroutine only yields once after it).
    ///
    /// # Errors
    ///
    /// [`ServerError::Closed`] (inside an `io::Error` of kind `Other`) if the server is closed;
    /// what `listen` or the loop's reader registration says.
    pub fn start_serving(&self) -> io::Result<()> {
        self.0.start_serving()
    }

    /// Stops listening (asyncio's `close`): the listening sockets are closed (a Unix path
    /// unlinked if `cleanup_socket` and it is still this server's), a pending
    /// [`serve_forever`](Self::serve_forever) returns; the connections already accepted stay
    /// open. Idempotent.
    pub fn close(&self) {
        self.0.close();
    }

    /// Closes every client's transport (asyncio 3.13's `close_clients`): each flushes its
    /// write buffer, then gets `connection_lost(None)`.
    pub fn close_clients(&self) {
        for t in self.0.client_transports() {
            t.close();
        }
    }

    /// Aborts every client's transport (asyncio 3.13's `abort_clients`): buffered data is
    /// dropped, `connection_lost(None)` follows.
    pub fn abort_clients(&self) {
        for t in self.0.client_transports() {
            t.abort();
        }
    }

    /// How many accepted connections are still open (their `connection_lost` has not run).
    pub fn client_count(&self) -> usize {
        self.0.clients.borrow().len()
    }

    /// Waits until the server is closed **and** every client's transport is gone (asyncio
    /// 3.12.1's `wait_closed`, in either order).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future changes nothing.
    pub fn wait_closed(&self) -> WaitClosed {
        WaitClosed {
            server: self.0.clone(),
        }
    }

    /// Serves until the server is closed (asyncio's `serve_forever`): starts serving if it does
    /// not, then waits. Returns `Ok(())` when [`close`](Self::close) is called — by anyone,
    /// from any task or callback.
    ///
    /// **Difference from asyncio:** asyncio's `close` cancels the `serve_forever` future, so
    /// the awaiting task gets `CancelledError`. Here a close is the normal end of serving,
    /// not a cancellation of the awaiting task (which could not tell it from its own
    /// cancellation): `server.serve_forever().await?` returns `Ok(())` after a shutdown,
    /// and the task goes on (to `wait_closed`, say). Decision 0013, "Servers".
    ///
    /// # Errors
    ///
    /// [`ServerError::AlreadyServingForever`] if another `serve_forever` is pending;
    /// [`ServerError::Closed`] if the server is closed (both checked at the first poll).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it — dropping the future, or cancelling the task awaiting it — closes the
    /// server (asyncio's `serve_forever` closes it when cancelled); the connections already
    /// accepted stay open.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_loop::EventLoop;
    /// use tower_protocol::{Protocol, create_server};
    ///
    /// struct Quiet;
    /// impl Protocol for Quiet {}
    ///
    /// let lp = EventLoop::new().unwrap();
    /// lp.run_until_complete(async {
    ///     let server = create_server(|| Quiet, "127.0.0.1", 0)
    ///         .start_serving(false)
    ///         .await
    ///         .unwrap();
    ///     let s = server.clone();
    ///     let serving = tower_task::spawn_local(async move { s.serve_forever().await });
    ///     tower_task::sleep(Duration::from_millis(10)).await;
    ///     assert!(server.is_serving());
    ///     serving.cancel(); // closes the server
    ///     assert!(serving.await.unwrap_err().is_cancelled());
    ///     assert!(!server.is_serving() && server.sockets().is_empty());
    /// })
    /// .unwrap();
    /// lp.close().unwrap();
    /// ```
    pub fn serve_forever(&self) -> ServeForever {
        ServeForever {
            server: self.0.clone(),
            state: ForeverState::Start,
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addrs: Vec<SocketAddress> = self.sockets().into_iter().map(|s| s.address).collect();
        f.debug_struct("Server")
            .field("sockets", &addrs)
            .field("serving", &self.is_serving())
            .field("clients", &self.client_count())
            .field("closed", &self.0.is_closed())
            .finish()
    }
}
