//! [`Server`]: asyncio's `Server` object — the listening sockets of one `create_server` or
//! `create_unix_server` call, the transports of the connections they accepted, and the
//! futures that wait on them ([`WaitClosed`], [`ServeForever`]). The accept loop itself is
//! in `accept.rs`.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tower_loop::{EventLoop, TimerHandle};

use crate::Protocol;
use tower_transport::{
    BaseTransport, SocketAddress, SocketTransport, StreamTransport, WriteTransport, extra,
};

/// A server: what [`create_server`](crate::create_server) and
/// [`create_unix_server`](crate::create_unix_server) resolve to (asyncio's `Server`). A cheap
/// handle: clones are the same server. `!Send`: it lives on the loop that made it (the
/// single-thread loop or one worker loop of the multi-thread runtime).
///
/// While it serves, each connection its listening sockets accept gets a fresh protocol from the
/// factory and a [`SocketTransport`]; the server keeps track of those transports (its
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

/// Makes the transport of one accepted connection (the factory's generic part, erased).
pub(crate) type MakeConnection = Box<dyn Fn(&Rc<ServerInner>, OwnedFd)>;

/// A listening socket of a server.
pub(crate) struct Listener {
    /// The socket (non-blocking, bound; listening once the server started serving).
    pub(crate) fd: OwnedFd,
    /// Its address, read after `bind`.
    pub(crate) address: SocketAddress,
    /// Whether the loop has its reader (the accept callback).
    pub(crate) reading: Cell<bool>,
    /// The back-off timer after `EMFILE` (accept.rs), while one is pending.
    pub(crate) retry: RefCell<Option<TimerHandle>>,
    /// A Unix socket path to unlink at close, if it is still this socket's (3.13's
    /// `cleanup_socket`).
    pub(crate) cleanup: Option<UnixCleanup>,
}

impl Listener {
    /// A listener over the bound socket `fd`, not watched yet.
    pub(crate) fn new(fd: OwnedFd, address: SocketAddress, cleanup: Option<UnixCleanup>) -> Self {
        Listener {
            fd,
            address,
            reading: Cell::new(false),
            retry: RefCell::new(None),
            cleanup,
        }
    }
}

/// The identity of the socket file a Unix server bound: the path is unlinked at close only if
/// it still names this file (asyncio compares the inode; the device is compared too here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnixCleanup {
    /// The path bound.
    pub(crate) path: PathBuf,
    /// `st_dev` of the socket file after `bind`.
    pub(crate) dev: u64,
    /// `st_ino` of the socket file after `bind`.
    pub(crate) ino: u64,
}

impl UnixCleanup {
    /// Unlinks the path if it is still the socket file this server bound.
    fn run(&self) {
        let Ok(st) = rustix::fs::lstat(&self.path) else {
            return;
        };
        let is_socket =
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket;
        #[allow(clippy::unnecessary_cast)] // `st_dev`/`st_ino` are not u64 everywhere
        if is_socket && st.st_dev as u64 == self.dev && st.st_ino as u64 == self.ino {
            let _ = rustix::fs::unlink(&self.path);
        }
    }
}

/// The transports of the accepted connections, by key (a slab: a freed key is reused).
#[derive(Default)]
struct Clients {
    /// Slot `key`: `None` if free; the entry otherwise.
    slots: Vec<Option<Client>>,
    /// Free keys.
    free: Vec<usize>,
    /// Occupied slots.
    len: usize,
}

/// One accepted connection.
struct Client {
    /// Its transport (`None` between the protocol's creation and the transport's).
    transport: Option<SocketTransport>,
    /// Its protocol was replaced (`set_protocol`): the guard that reports `connection_lost` is
    /// gone, so the server looks at the transport on a timer instead.
    unwatched: bool,
}

/// How often a client whose protocol was replaced is looked at (see [`Client::unwatched`]).
const UNWATCHED_POLL: Duration = Duration::from_millis(50);

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
    clients: RefCell<Clients>,
    /// `wait_closed` callers' wakers.
    waiters: RefCell<Vec<Waker>>,
    /// Closed and every client gone: `wait_closed` returns at once (asyncio's `_waiters is
    /// None`).
    finished: Cell<bool>,
    /// A `serve_forever` is pending (asyncio's `_serving_forever_fut`).
    forever: Cell<bool>,
    /// Its waker.
    forever_waker: RefCell<Option<Waker>>,
    /// The timer looking at unwatched clients, while one runs.
    unwatched_timer: RefCell<Option<TimerHandle>>,
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
        Rc::new(ServerInner {
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
            unwatched_timer: RefCell::new(None),
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
        if self.clients.borrow().len == 0 {
            self.wakeup();
        }
    }

    /// Wakes `wait_closed` callers for good (asyncio's `_wakeup`).
    fn wakeup(&self) {
        self.finished.set(true);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
    }

    /// A slot for a new client (asyncio's `_attach`).
    fn attach(&self) -> usize {
        let mut c = self.clients.borrow_mut();
        c.len += 1;
        let entry = Some(Client {
            transport: None,
            unwatched: false,
        });
        if let Some(key) = c.free.pop() {
            c.slots[key] = entry;
            key
        } else {
            c.slots.push(entry);
            c.slots.len() - 1
        }
    }

    /// Gives client `key` its transport.
    fn set_transport(&self, key: usize, t: SocketTransport) {
        if let Some(Some(c)) = self.clients.borrow_mut().slots.get_mut(key) {
            c.transport = Some(t);
        }
    }

    /// Client `key` is gone (asyncio's `_detach`).
    fn detach(&self, key: usize) {
        let (gone, now_empty) = {
            let mut c = self.clients.borrow_mut();
            let gone = c.slots.get_mut(key).and_then(Option::take);
            if gone.is_some() {
                c.len -= 1;
                c.free.push(key);
            }
            (gone, c.len == 0)
        };
        drop(gone); // the transport handle, outside the borrow
        if now_empty && self.is_closed() && !self.finished.get() {
            self.wakeup();
        }
    }

    /// Client `key`'s protocol was dropped while its transport is open (replaced with
    /// `set_protocol`): from now on the server looks at the transport on a timer.
    fn unwatch(self: &Rc<Self>, key: usize) {
        if let Some(Some(c)) = self.clients.borrow_mut().slots.get_mut(key) {
            c.unwatched = true;
        }
        self.poll_unwatched();
    }

    /// Detaches the unwatched clients whose transport is gone; runs again while any is left.
    fn poll_unwatched(self: &Rc<Self>) {
        let mut left = false;
        let mut gone = Vec::new();
        for (key, slot) in self.clients.borrow().slots.iter().enumerate() {
            if let Some(c) = slot {
                if c.unwatched {
                    if c.transport.as_ref().is_none_or(transport_gone) {
                        gone.push(key);
                    } else {
                        left = true;
                    }
                }
            }
        }
        for key in gone {
            self.detach(key);
        }
        let mut timer = self.unwatched_timer.borrow_mut();
        if let Some(t) = timer.take() {
            t.cancel();
        }
        if left && !self.lp.is_closed() {
            let weak = Rc::downgrade(self);
            *timer = Some(self.lp.call_later(UNWATCHED_POLL, move || {
                if let Some(s) = weak.upgrade() {
                    s.poll_unwatched();
                }
            }));
        }
    }

    /// The client transports, cloned out.
    fn client_transports(&self) -> Vec<SocketTransport> {
        self.clients
            .borrow()
            .slots
            .iter()
            .flatten()
            .filter_map(|c| c.transport.clone())
            .collect()
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

/// Whether a client's transport finished (`connection_lost` ran: its socket is closed). Tier 7's
/// `finish` closes the socket before it drops the protocol, so a protocol dropped by its
/// transport sees its transport gone here.
fn transport_gone(t: &SocketTransport) -> bool {
    t.get_extra_info(extra::Socket).is_none()
}

/// Makes each accepted connection with a protocol from `factory`.
pub(crate) fn make_connection<F, P>(factory: F) -> MakeConnection
where
    F: Fn() -> P + 'static,
    P: Protocol,
{
    Box::new(move |server: &Rc<ServerInner>, fd: OwnedFd| {
        // The factory first: if it panics, nothing is attached and `fd` closes.
        let protocol = factory();
        let key = server.attach();
        let conn = Rc::new(RefCell::new(ServerConnection {
            protocol,
            guard: ClientGuard {
                server: Rc::downgrade(server),
                key,
                detached: false,
            },
        }));
        match SocketTransport::new(&server.lp, fd, conn) {
            Ok(t) => server.set_transport(key, t),
            Err(e) => server
                .lp
                .call_exception_handler(&tower_loop::ExceptionContext::new(format!(
                    "error on transport creation for incoming connection: {e}"
                ))),
        }
    })
}

/// The protocol a server gives an accepted connection's transport: the factory's protocol,
/// and the guard that tells the server when the connection is gone (asyncio's transport calls
/// `server._detach` in `_call_connection_lost`; tier 7's transports know no server, so the
/// server's own protocol wrapper does it). Every call goes straight to the protocol (the
/// wrapper is generic: no extra dynamic call).
struct ServerConnection<P> {
    /// The user's protocol.
    protocol: P,
    /// Reports `connection_lost` (or the protocol's drop) to the server.
    guard: ClientGuard,
}

/// Detaches a client from its server at `connection_lost`, or when the protocol is dropped.
struct ClientGuard {
    /// The server (weak: a client does not keep its server alive).
    server: Weak<ServerInner>,
    /// The client's key.
    key: usize,
    /// Already detached.
    detached: bool,
}

impl ClientGuard {
    /// The connection is lost.
    fn lost(&mut self) {
        if !self.detached {
            self.detached = true;
            if let Some(s) = self.server.upgrade() {
                s.detach(self.key);
            }
        }
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        let Some(s) = self.server.upgrade() else {
            return;
        };
        let open = s
            .clients
            .borrow()
            .slots
            .get(self.key)
            .and_then(|c| c.as_ref())
            .and_then(|c| c.transport.as_ref())
            .is_some_and(|t| !transport_gone(t));
        if open {
            // Dropped while the transport is open: `set_protocol` replaced this protocol.
            s.unwatch(self.key);
        } else {
            // The transport never came up (its constructor failed, or the loop closed before
            // `connection_made`), or it finished.
            s.detach(self.key);
        }
    }
}

impl<P: Protocol> Protocol for ServerConnection<P> {
    #[inline]
    fn connection_made(&mut self, transport: StreamTransport) {
        self.protocol.connection_made(transport);
    }
    #[inline]
    fn buffered(&self) -> bool {
        self.protocol.buffered()
    }
    #[inline]
    fn data_received(&mut self, data: &[u8]) {
        self.protocol.data_received(data);
    }
    #[inline]
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8] {
        self.protocol.get_buffer(size_hint)
    }
    #[inline]
    fn buffer_updated(&mut self, nbytes: usize) {
        self.protocol.buffer_updated(nbytes);
    }
    #[inline]
    fn eof_received(&mut self) -> bool {
        self.protocol.eof_received()
    }
    #[inline]
    fn pause_writing(&mut self) {
        self.protocol.pause_writing();
    }
    #[inline]
    fn resume_writing(&mut self) {
        self.protocol.resume_writing();
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.protocol.connection_lost(exc);
        self.guard.lost();
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
        self.0.clients.borrow().len
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
    /// not, then waits. Returns `Ok(())` when [`close`](Self::close) is called (asyncio raises
    /// `CancelledError` in the awaiting task then).
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

/// [`Server::wait_closed`]'s future.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitClosed {
    /// The server.
    server: Rc<ServerInner>,
}

impl fmt::Debug for WaitClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitClosed")
            .field("finished", &self.server.finished.get())
            .finish()
    }
}

impl Future for WaitClosed {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let s = &self.server;
        if s.finished.get() {
            return Poll::Ready(());
        }
        let mut waiters = s.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Where a [`ServeForever`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForeverState {
    /// Not polled yet.
    Start,
    /// Serving; it owns the server's `forever` flag.
    Serving,
    /// Returned.
    Done,
}

/// [`Server::serve_forever`]'s future. Dropping it while it serves closes the server.
#[must_use = "futures do nothing unless awaited"]
pub struct ServeForever {
    /// The server.
    server: Rc<ServerInner>,
    /// Where it is.
    state: ForeverState,
}

impl fmt::Debug for ServeForever {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeForever")
            .field("state", &self.state)
            .finish()
    }
}

impl Future for ServeForever {
    type Output = Result<(), ServerError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.state {
            ForeverState::Done => return Poll::Ready(Ok(())),
            ForeverState::Start => {
                let s = &self.server;
                if s.forever.get() {
                    self.state = ForeverState::Done;
                    return Poll::Ready(Err(ServerError::AlreadyServingForever));
                }
                if s.is_closed() {
                    self.state = ForeverState::Done;
                    return Poll::Ready(Err(ServerError::Closed));
                }
                if let Err(e) = s.start_serving() {
                    self.state = ForeverState::Done;
                    return Poll::Ready(Err(ServerError::Io(e)));
                }
                s.forever.set(true);
                self.state = ForeverState::Serving;
            }
            ForeverState::Serving => {}
        }
        let s = &self.server;
        if s.is_closed() {
            s.forever.set(false);
            s.forever_waker.borrow_mut().take();
            self.state = ForeverState::Done;
            return Poll::Ready(Ok(()));
        }
        *s.forever_waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for ServeForever {
    fn drop(&mut self) {
        if self.state == ForeverState::Serving {
            let s = &self.server;
            s.forever.set(false);
            s.forever_waker.borrow_mut().take();
            s.close();
        }
    }
}

/// The address of a bound socket, as the transports report addresses.
pub(crate) fn local_address(fd: impl AsFd) -> io::Result<SocketAddress> {
    let any = rustix::net::getsockname(fd)?;
    if let Ok(a) = std::net::SocketAddr::try_from(any.clone()) {
        return Ok(SocketAddress::Inet(a));
    }
    let unix = rustix::net::SocketAddrUnix::try_from(any)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not an IP or Unix socket"))?;
    if let Some(path) = unix.path_bytes() {
        use std::os::unix::ffi::OsStrExt;
        return Ok(SocketAddress::UnixPath(PathBuf::from(
            std::ffi::OsStr::from_bytes(path),
        )));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(name) = unix.abstract_name() {
        if !name.is_empty() {
            return Ok(SocketAddress::UnixAbstract(name.to_vec()));
        }
    }
    Ok(SocketAddress::UnixUnnamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a server adds per connection (decision 0013 states these figures).
    #[test]
    fn per_connection_sizes() {
        assert_eq!(std::mem::size_of::<Option<Client>>(), 16);
        assert_eq!(std::mem::size_of::<ClientGuard>(), 24);
    }
}
