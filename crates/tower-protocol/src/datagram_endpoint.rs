//! `create_datagram_endpoint` (asyncio's `loop.create_datagram_endpoint`): a UDP socket bound
//! and/or connected as asked, handed to a [`DatagramProtocol`] on the running loop through
//! tier 7's [`DatagramSocketTransport`]. Options are methods of the
//! [`CreateDatagramEndpoint`] builder, which is awaited directly.

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::rc::Rc;

use rustix::net::{AddressFamily, SocketType};
use tower_loop::EventLoop;
use tower_transport::{DatagramSocketTransport, SocketAddress};

use crate::connect::{check_type, connection_made, new_socket, running_loop, socket_for};
use crate::host::{Host, NoHost, resolve};
use crate::protocols::DatagramProtocol;
use crate::resolve::Family;

/// Opens a datagram endpoint and hands it to a new protocol made by `factory` (asyncio's
/// `loop.create_datagram_endpoint(protocol_factory, ...)`). Say where with the builder's
/// [`local_addr`](CreateDatagramEndpoint::local_addr) (bind),
/// [`remote_addr`](CreateDatagramEndpoint::remote_addr) (connect: `sendto` needs no address
/// and only that peer's datagrams arrive), [`family`](CreateDatagramEndpoint::family) (neither
/// address: an unbound socket of that family); then `.await` it for the transport and the protocol, whose `connection_made` has run.
///
/// When the addresses resolve to both families, each family with every asked-for address is
/// tried in turn, as asyncio does.
///
/// # Errors
///
/// `InvalidInput` for options that do not go together (asyncio's `ValueError`): no address
/// and no family, local and remote addresses of no common family. The resolver's error; the first family's
/// socket, bind or connect error if no family worked. Outside a running loop, `Other`.
///
/// # Cancellation
///
/// Dropping the future closes the socket it opened (or, once the transport exists, the
/// transport).
///
/// ```
/// use tower_protocol::{DatagramProtocol, create_datagram_endpoint};
/// use tower_transport::{BaseTransport, DatagramSocketTransport, DatagramTransport, SocketAddress, extra};
///
/// #[derive(Default)]
/// struct Echo(Option<DatagramSocketTransport>);
/// impl DatagramProtocol for Echo {
///     fn connection_made(&mut self, t: DatagramSocketTransport) {
///         self.0 = Some(t);
///     }
///     fn datagram_received(&mut self, data: &[u8], addr: Option<SocketAddress>) {
///         self.0.as_ref().unwrap().sendto(data, addr.as_ref()).unwrap();
///     }
/// }
///
/// let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// tower_task::run(async move {
///     let (server, _echo) = create_datagram_endpoint(Echo::default)
///         .local_addr("127.0.0.1", 0)
///         .await
///         .unwrap();
///     let Some(SocketAddress::Inet(at)) = server.get_extra_info(extra::Sockname) else {
///         panic!()
///     };
///     client.send_to(b"ping", at).unwrap();
///     let mut buf = [0; 16];
///     client.set_nonblocking(true).unwrap();
///     let n = loop {
///         match client.recv(&mut buf) {
///             Ok(n) => break n,
///             Err(_) => tower_task::sleep(std::time::Duration::from_millis(1)).await,
///         }
///     };
///     assert_eq!(&buf[..n], b"ping");
///     server.close();
/// })
/// .unwrap();
/// ```
pub fn create_datagram_endpoint<P, F>(factory: F) -> CreateDatagramEndpoint<P, F>
where
    P: DatagramProtocol,
    F: FnOnce() -> P + 'static,
{
    CreateDatagramEndpoint {
        factory,
        local_addr: None,
        remote_addr: None,
        family: Family::Any,
        reuse_port: false,
        allow_broadcast: false,
        _protocol: PhantomData,
    }
}

/// A datagram endpoint over an existing datagram socket, used as it is (asyncio's
/// `loop.create_datagram_endpoint(protocol_factory, sock=sock)`; no other option applies, so
/// this takes none — the rule of every factory, decision 0013: an existing socket is its own
/// `_sock` function). Returns once `connection_made` ran.
///
/// ```compile_fail
/// # struct Quiet;
/// # impl tower_protocol::DatagramProtocol for Quiet {}
/// let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let _ = tower_protocol::create_datagram_endpoint(|| Quiet).sock(sock);
/// ```
///
/// # Errors
///
/// `InvalidInput` if `sock` is not a datagram socket; outside a running loop, `Other`.
pub async fn create_datagram_endpoint_sock<P, F>(
    factory: F,
    sock: impl Into<OwnedFd>,
) -> io::Result<(DatagramSocketTransport, Rc<RefCell<P>>)>
where
    P: DatagramProtocol,
    F: FnOnce() -> P,
{
    let lp = running_loop()?;
    let sock = sock.into();
    check_type(&sock, SocketType::DGRAM, "datagram")?;
    let protocol = Rc::new(RefCell::new(factory()));
    let transport = DatagramSocketTransport::new(&lp, sock, protocol.clone())?;
    connection_made(&lp, &transport).await;
    Ok((transport, protocol))
}

/// The options of [`create_datagram_endpoint`] (asyncio's keyword arguments); `.await` it.
#[must_use = "an endpoint is made only when the builder is awaited"]
pub struct CreateDatagramEndpoint<P, F> {
    /// Makes the protocol.
    factory: F,
    /// Where to bind.
    local_addr: Option<(Host, u16)>,
    /// Where to connect.
    remote_addr: Option<(Host, u16)>,
    /// Which families.
    family: Family,
    /// `SO_REUSEPORT`.
    reuse_port: bool,
    /// `SO_BROADCAST`.
    allow_broadcast: bool,
    /// The protocol type.
    _protocol: PhantomData<fn() -> P>,
}

impl<P, F> fmt::Debug for CreateDatagramEndpoint<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateDatagramEndpoint")
            .field("local_addr", &self.local_addr)
            .field("remote_addr", &self.remote_addr)
            .field("family", &self.family)
            .field("reuse_port", &self.reuse_port)
            .field("allow_broadcast", &self.allow_broadcast)
            .finish_non_exhaustive()
    }
}

/// `InvalidInput` with `msg` (asyncio's `ValueError`).
fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl<P, F> CreateDatagramEndpoint<P, F>
where
    P: DatagramProtocol,
    F: FnOnce() -> P + 'static,
{
    /// Bind to `host`/`port` (asyncio's `local_addr`; port 0: any free port).
    pub fn local_addr(mut self, host: impl Into<Host>, port: u16) -> Self {
        self.local_addr = Some((host.into(), port));
        self
    }

    /// Connect to `host`/`port` (asyncio's `remote_addr`). With
    /// [`allow_broadcast`](Self::allow_broadcast) the socket stays unconnected and the address
    /// is the transport's default destination instead (asyncio's).
    pub fn remote_addr(mut self, host: impl Into<Host>, port: u16) -> Self {
        self.remote_addr = Some((host.into(), port));
        self
    }

    /// Keep only addresses of `family`; with no address, the family of the unbound socket
    /// (asyncio's `family`).
    pub fn family(mut self, family: Family) -> Self {
        self.family = family;
        self
    }

    /// Set `SO_REUSEPORT` before binding, so several endpoints may bind one address (asyncio's
    /// `reuse_port`).
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Set `SO_BROADCAST`, so datagrams may go to broadcast addresses (asyncio's
    /// `allow_broadcast`); with [`remote_addr`](Self::remote_addr), the socket is not
    /// connected (see there).
    pub fn allow_broadcast(mut self, on: bool) -> Self {
        self.allow_broadcast = on;
        self
    }

    /// What awaiting the builder runs.
    async fn run(self) -> io::Result<(DatagramSocketTransport, Rc<RefCell<P>>)> {
        let lp = running_loop()?;
        let (sock, default) = self.open(&lp).await?;
        let protocol = Rc::new(RefCell::new((self.factory)()));
        let transport = match default {
            // `allow_broadcast` with `remote_addr`: unconnected, the remote the default.
            Some(remote) => DatagramSocketTransport::with_default_address(
                &lp,
                sock,
                protocol.clone(),
                SocketAddress::Inet(remote),
            )?,
            None => DatagramSocketTransport::new(&lp, sock, protocol.clone())?,
        };
        connection_made(&lp, &transport).await;
        Ok((transport, protocol))
    }

    /// asyncio's search: a socket per family that has every address asked for; with it, the
    /// remote address the socket was not connected to (`allow_broadcast`).
    async fn open(&self, lp: &EventLoop) -> io::Result<(OwnedFd, Option<SocketAddr>)> {
        if self.local_addr.is_none() && self.remote_addr.is_none() {
            let domain = match self.family {
                Family::Any => return Err(invalid("unexpected address family".into())),
                Family::V4 => AddressFamily::INET,
                Family::V6 => AddressFamily::INET6,
            };
            let sock = new_socket(domain, SocketType::DGRAM)?;
            self.set_options(&sock)?;
            return Ok((sock, None));
        }
        // (is IPv4, [local, remote]) in order of first appearance; the last address of a
        // family wins, as asyncio's `setdefault(key, [None, None])[idx] = address`.
        let mut pairs: Vec<(bool, [Option<SocketAddr>; 2])> = Vec::new();
        for (idx, addr) in [&self.local_addr, &self.remote_addr]
            .into_iter()
            .enumerate()
        {
            let Some((host, port)) = addr else { continue };
            let no_host = if idx == 0 {
                NoHost::Wildcard
            } else {
                NoHost::Refused
            };
            for a in resolve(host, *port, self.family, no_host).await? {
                match pairs.iter_mut().find(|(v4, _)| *v4 == a.is_ipv4()) {
                    Some((_, pair)) => pair[idx] = Some(a),
                    None => {
                        let mut pair = [None, None];
                        pair[idx] = Some(a);
                        pairs.push((a.is_ipv4(), pair));
                    }
                }
            }
        }
        pairs.retain(|(_, [local, remote])| {
            !(self.local_addr.is_some() && local.is_none()
                || self.remote_addr.is_some() && remote.is_none())
        });
        if pairs.is_empty() {
            return Err(invalid("can not get address information".into()));
        }
        let mut first_error = None;
        for (_, [local, remote]) in pairs {
            match self.try_pair(lp, local, remote).await {
                Ok(sock) => return Ok(sock),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| invalid("can not get address information".into())))
    }

    /// One family's socket: options, bind, connect — except with `allow_broadcast`, where the
    /// socket stays unconnected and the remote address is returned, for the transport to keep
    /// as its default destination (asyncio's: a connected socket could not send to a broadcast
    /// address).
    async fn try_pair(
        &self,
        lp: &EventLoop,
        local: Option<SocketAddr>,
        remote: Option<SocketAddr>,
    ) -> io::Result<(OwnedFd, Option<SocketAddr>)> {
        let Some(any) = local.or(remote) else {
            return Err(invalid("can not get address information".into()));
        };
        let sock = socket_for(&any, SocketType::DGRAM)?;
        self.set_options(&sock)?;
        if let Some(local) = local {
            rustix::net::bind(&sock, &local)?;
        }
        match remote {
            Some(remote) if self.allow_broadcast => return Ok((sock, Some(remote))),
            Some(remote) => lp.sock_connect(&sock, remote).await?,
            None => {}
        }
        Ok((sock, None))
    }

    /// `SO_REUSEPORT`, `SO_BROADCAST`.
    fn set_options(&self, sock: &OwnedFd) -> io::Result<()> {
        if self.reuse_port {
            rustix::net::sockopt::set_socket_reuseport(sock, true)?;
        }
        if self.allow_broadcast {
            rustix::net::sockopt::set_socket_broadcast(sock, true)?;
        }
        Ok(())
    }
}

impl<P, F> IntoFuture for CreateDatagramEndpoint<P, F>
where
    P: DatagramProtocol,
    F: FnOnce() -> P + 'static,
{
    type Output = io::Result<(DatagramSocketTransport, Rc<RefCell<P>>)>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
