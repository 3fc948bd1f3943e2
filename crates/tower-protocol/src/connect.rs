//! `create_connection` (asyncio's `loop.create_connection`): resolve a host off the loop,
//! connect a non-blocking socket to each address in turn — or race them with happy eyeballs
//! ([`staggered_race`]) — and hand the connected socket to a [`SocketTransport`] driving a
//! new protocol. Also the sock variant ([`create_connection_sock`]), the [`Host`] argument
//! every factory takes, and what the factories share: waiting for `connection_made`.
//!
//! Asyncio's keyword options are the methods of the [`CreateConnection`] builder, which is
//! awaited directly (`IntoFuture`). Decision: docs/decisions/0013-protocols.md, "Factories".

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use rustix::net::{AddressFamily, SocketType};
use tower_loop::EventLoop;
use tower_transport::{BaseTransport, SocketTransport, StreamTransport};

use crate::client::{ClientTls, TlsEnd, hand_over, into_connection_future};
use crate::eyeballs::{ConnectCallFailed, combine, interleave};
use crate::host::{Host, NoHost, resolve};
use crate::protocols::Protocol;
use crate::resolve::Family;
use crate::staggered::staggered_race;

/// The running loop, as an `io::Error` if there is none.
pub(crate) fn running_loop() -> io::Result<EventLoop> {
    tower_loop::get_running_loop().map_err(|e| io::Error::other(e.to_string()))
}

/// A new non-blocking, close-on-exec socket of `addr`'s family.
pub(crate) fn socket_for(addr: &SocketAddr, kind: SocketType) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    new_socket(domain, kind)
}

/// A new non-blocking, close-on-exec socket (every factory's sockets are made here).
pub(crate) fn new_socket(domain: AddressFamily, kind: SocketType) -> io::Result<OwnedFd> {
    Ok(tower_loop::nonblocking_socket(domain, kind)?)
}

/// `Err(InvalidInput)` unless `sock` is a socket of type `want` (asyncio's `ValueError`).
pub(crate) fn check_type(sock: &OwnedFd, want: SocketType, what: &str) -> io::Result<()> {
    let got = rustix::net::sockopt::socket_type(sock)?;
    if got != want {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a {what} socket was expected, got socket type {}",
                got.as_raw()
            ),
        ));
    }
    Ok(())
}

/// Resolves after the callbacks queued on `lp` before this call ran (asyncio's waiter,
/// which the transport resolves with `call_soon` after `connection_made`).
fn next_turn(lp: &EventLoop) -> impl Future<Output = ()> + '_ {
    let state = Rc::new((Cell::new(false), RefCell::new(None::<Waker>)));
    let mut queued = false;
    poll_fn(move |cx| {
        if state.0.get() {
            return Poll::Ready(());
        }
        *state.1.borrow_mut() = Some(cx.waker().clone());
        if !queued {
            queued = true;
            let s = Rc::clone(&state);
            lp.call_soon(move || {
                s.0.set(true);
                let w = s.1.borrow_mut().take();
                if let Some(w) = w {
                    w.wake();
                }
            });
        }
        Poll::Pending
    })
}

/// Waits until `transport`'s `connection_made` has run (asyncio's `await waiter`); if the
/// wait is dropped, closes the transport (asyncio's `except: transport.close(); raise`).
pub(crate) async fn connection_made<T: BaseTransport>(lp: &EventLoop, transport: &T) {
    /// Closes the transport unless disarmed.
    struct CloseOnDrop<'a, T: BaseTransport>(&'a T, bool);
    impl<T: BaseTransport> Drop for CloseOnDrop<'_, T> {
        fn drop(&mut self) {
            if self.1 {
                self.0.close();
            }
        }
    }
    let mut guard = CloseOnDrop(transport, true);
    next_turn(lp).await;
    guard.1 = false;
}

/// A connected stream socket handed to a new protocol on `lp`.
pub(crate) async fn stream_transport<P: Protocol, F: FnOnce() -> P>(
    lp: &EventLoop,
    sock: OwnedFd,
    factory: F,
) -> io::Result<(StreamTransport, Rc<RefCell<P>>)> {
    let protocol = Rc::new(RefCell::new(factory()));
    let transport = SocketTransport::new(lp, sock, protocol.clone())?;
    connection_made(lp, &transport).await;
    Ok((transport.into(), protocol))
}

/// asyncio's `_connect_sock`: a socket of `addr`'s family, bound to the first address of
/// `local` of that family that binds, connected to `addr`. Every error on the way, in order.
async fn connect_sock(
    lp: &EventLoop,
    addr: SocketAddr,
    local: Option<&[SocketAddr]>,
) -> Result<OwnedFd, Vec<io::Error>> {
    let mut errors = Vec::new();
    let sock = socket_for(&addr, SocketType::STREAM).map_err(|e| vec![e])?;
    if let Some(local) = local {
        let mut bound = false;
        for laddr in local.iter().filter(|l| l.is_ipv4() == addr.is_ipv4()) {
            match rustix::net::bind(&sock, laddr) {
                Ok(()) => {
                    bound = true;
                    break;
                }
                Err(e) => errors.push(bind_error(laddr, e.into())),
            }
        }
        if !bound {
            if errors.is_empty() {
                let family = if addr.is_ipv4() {
                    "AF_INET"
                } else {
                    "AF_INET6"
                };
                errors.push(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("no matching local address with family={family} found"),
                ));
            }
            return Err(errors);
        }
    }
    match lp.sock_connect(&sock, addr).await {
        Ok(()) => Ok(sock),
        Err(e) => {
            errors.push(ConnectCallFailed::wrap(addr, e));
            Err(errors)
        }
    }
}

/// asyncio's bind error: "error while attempting to bind on address ...: <strerror>".
fn bind_error(laddr: &SocketAddr, err: io::Error) -> io::Error {
    let text = err.to_string();
    let strerror = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase();
    io::Error::new(
        err.kind(),
        format!("error while attempting to bind on address {laddr}: {strerror}"),
    )
}

/// Opens a TCP connection to `host` at `port` and hands it to a new protocol made by
/// `factory` (asyncio's `loop.create_connection(protocol_factory, host, port)`). Set options
/// on the returned builder, then `.await` it; it gives the transport (`TCP_NODELAY` set) and
/// the protocol, whose `connection_made` has run.
///
/// The host is resolved off the loop ([`getaddrinfo`](crate::getaddrinfo); a literal address or a [`Host::Addrs`]
/// list needs no resolver); each address is tried in turn until one connects, or, with
/// [`happy_eyeballs_delay`](CreateConnection::happy_eyeballs_delay), the attempts are raced
/// ([`staggered_race`]).
///
/// Runs on the running loop: the single-thread loop, or a worker loop of the multi-thread
/// runtime (the future is `!Send`: spawn it with `spawn_local` there).
///
/// # Errors
///
/// The resolver's error; then, if no address connected, as asyncio reports it: the one error
/// if there was one, the first if all have the same message, else an error whose inner error
/// is [`ConnectionErrors`](crate::ConnectionErrors) ("Multiple exceptions: ..."); with
/// [`all_errors`](CreateConnection::all_errors), always `ConnectionErrors` with the whole
/// list. A failed connect's error carries its address ([`ConnectCallFailed`]) and keeps its
/// kind (`ConnectionRefused`, ...). Outside a running loop, an error of kind `Other`.
///
/// # Cancellation
///
/// Dropping the future mid-way closes every socket it opened: a sequential attempt's socket
/// at once; with happy eyeballs, cancelling the task awaiting it cancels and awaits every
/// attempt, so their sockets are closed when the cancellation goes on (dropping it without
/// cancelling cancels the attempts, whose sockets close when the loop next runs them). Once
/// the transport exists, dropping the future closes the transport.
///
/// ```
/// use std::net::TcpListener;
/// use std::time::Duration;
/// use tower_protocol::{Protocol, create_connection};
/// use tower_transport::{BaseTransport, StreamTransport};
///
/// #[derive(Default)]
/// struct Client(Option<StreamTransport>);
/// impl Protocol for Client {
///     fn connection_made(&mut self, t: StreamTransport) {
///         self.0 = Some(t);
///     }
/// }
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = listener.local_addr().unwrap().port();
/// tower_task::run(async move {
///     let (transport, protocol) = create_connection(Client::default, "127.0.0.1", port)
///         .happy_eyeballs_delay(Duration::from_millis(250))
///         .await
///         .unwrap();
///     assert!(protocol.borrow().0.is_some()); // connection_made has run
///     transport.close();
/// })
/// .unwrap();
/// ```
pub fn create_connection<P, F>(
    factory: F,
    host: impl Into<Host>,
    port: u16,
) -> CreateConnection<P, F>
where
    P: Protocol,
    F: FnOnce() -> P + 'static,
{
    CreateConnection {
        factory,
        host: host.into(),
        port,
        happy_eyeballs_delay: None,
        interleave: None,
        all_errors: false,
        local_addr: None,
        family: Family::Any,
        tls: ClientTls::default(),
        _protocol: PhantomData,
    }
}

/// The options of [`create_connection`] (asyncio's keyword arguments); `.await` it.
#[must_use = "a connection is made only when the builder is awaited"]
pub struct CreateConnection<P, F> {
    /// Makes the protocol.
    factory: F,
    /// Where to connect.
    host: Host,
    /// The port.
    port: u16,
    /// Happy eyeballs: the delay between starts.
    happy_eyeballs_delay: Option<Duration>,
    /// Addresses of the first family before alternating.
    interleave: Option<usize>,
    /// Report every error.
    all_errors: bool,
    /// Where to bind first.
    local_addr: Option<(Host, u16)>,
    /// Which families.
    family: Family,
    /// TLS.
    tls: ClientTls,
    /// The protocol type.
    _protocol: PhantomData<fn() -> P>,
}

impl<P, F> fmt::Debug for CreateConnection<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CreateConnection");
        d.field("host", &self.host)
            .field("port", &self.port)
            .field("happy_eyeballs_delay", &self.happy_eyeballs_delay)
            .field("interleave", &self.interleave)
            .field("all_errors", &self.all_errors)
            .field("local_addr", &self.local_addr)
            .field("family", &self.family);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls);
        d.finish_non_exhaustive()
    }
}

impl<P, F> CreateConnection<P, F>
where
    P: Protocol,
    F: FnOnce() -> P + 'static,
{
    /// Happy eyeballs (RFC 8305): start the next address's attempt `delay` after the last one
    /// started, or at once when it fails; the first to connect wins and the others are
    /// cancelled (asyncio's `happy_eyeballs_delay`; RFC 8305 suggests 250 ms). Also sets
    /// [`interleave`](Self::interleave) to 1 unless it was given.
    pub fn happy_eyeballs_delay(mut self, delay: Duration) -> Self {
        self.happy_eyeballs_delay = Some(delay);
        self
    }

    /// Reorder the addresses so families alternate, starting with `count` addresses of the
    /// first family ([`interleave`](crate::interleave); asyncio's `interleave`). 0: keep the
    /// resolver's order.
    pub fn interleave(mut self, count: usize) -> Self {
        self.interleave = Some(count);
        self
    }

    /// Report every error when no address connects (asyncio's `all_errors=True`): the error's
    /// inner error is always [`ConnectionErrors`](crate::ConnectionErrors).
    pub fn all_errors(mut self, all: bool) -> Self {
        self.all_errors = all;
        self
    }

    /// Bind the socket to `host`/`port` before connecting (asyncio's `local_addr`); each
    /// attempt binds to the first resolved local address of its own family that binds.
    pub fn local_addr(mut self, host: impl Into<Host>, port: u16) -> Self {
        self.local_addr = Some((host.into(), port));
        self
    }

    /// Keep only addresses of `family` (asyncio's `family`).
    pub fn family(mut self, family: Family) -> Self {
        self.family = family;
        self
    }

    #[cfg(feature = "tls")]
    crate::tls::client_tls_options!(
        "by default the host (asyncio's rule; of a list, the first name or address; [`Host::All`] needs it given)."
    );

    /// The TLS end for this connection, checked as asyncio checks its options.
    fn tls_config(&self) -> io::Result<TlsEnd> {
        let host = match &self.host {
            Host::Names(names) => names.first().cloned(),
            Host::Addrs(ips) => ips.first().map(|ip| ip.to_string()),
            Host::All => None,
        };
        self.tls.resolve(host)
    }

    /// What awaiting the builder runs.
    async fn run(self) -> io::Result<(StreamTransport, Rc<RefCell<P>>)> {
        let lp = running_loop()?;
        let tls = self.tls_config()?;
        let mut addrs = resolve(&self.host, self.port, self.family, NoHost::Refused).await?;
        let local = match &self.local_addr {
            Some((host, port)) => Some(resolve(host, *port, self.family, NoHost::Wildcard).await?),
            None => None,
        };
        let count = self
            .interleave
            .or(self.happy_eyeballs_delay.map(|_| 1))
            .unwrap_or(0);
        if count > 0 {
            addrs = interleave(&addrs, count);
        }
        let sock = match self.happy_eyeballs_delay {
            None => {
                let mut errors = Vec::new();
                let mut connected = None;
                for addr in addrs {
                    match connect_sock(&lp, addr, local.as_deref()).await {
                        Ok(sock) => {
                            connected = Some(sock);
                            break;
                        }
                        Err(mut errs) => errors.append(&mut errs),
                    }
                }
                connected.ok_or_else(|| combine(errors, self.all_errors))?
            }
            Some(delay) => {
                let local = local.map(Rc::new);
                let attempts = addrs.into_iter().map(|addr| {
                    let lp = lp.clone();
                    let local = local.clone();
                    move || async move {
                        connect_sock(&lp, addr, local.as_ref().map(|l| l.as_slice())).await
                    }
                });
                let race = staggered_race(attempts, Some(delay)).await;
                match race.winner {
                    Some((_, sock)) => sock,
                    None => {
                        let errors = race.errors.into_iter().flatten().flatten().collect();
                        return Err(combine(errors, self.all_errors));
                    }
                }
            }
        };
        hand_over(&lp, sock, self.factory, tls).await
    }
}

into_connection_future!(CreateConnection);

/// asyncio's `create_connection(protocol_factory, sock=sock)`: hands the already connected
/// stream socket `sock` (TCP or Unix) to a new protocol on the running loop; returns once
/// `connection_made` has run.
///
/// # Errors
///
/// `InvalidInput` if `sock` is not a stream socket; the transport's errors; outside a running
/// loop, `Other`. On error `sock` is closed.
///
/// # Cancellation
///
/// Dropping the future before the transport exists closes `sock`; after, closes the transport.
pub async fn create_connection_sock<P, F>(
    factory: F,
    sock: impl Into<OwnedFd>,
) -> io::Result<(StreamTransport, Rc<RefCell<P>>)>
where
    P: Protocol,
    F: FnOnce() -> P,
{
    let sock = sock.into();
    let lp = running_loop()?;
    check_type(&sock, SocketType::STREAM, "stream")?;
    stream_transport(&lp, sock, factory).await
}
