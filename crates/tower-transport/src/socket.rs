//! [`SocketTransport`]: the stream transport over a TCP or Unix stream socket (asyncio's
//! `_SelectorSocketTransport`); the logic is the shared `StreamCore`'s (`stream_core.rs`).

use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use rustix::net::{AddressFamily, SocketAddrAny};
use tower_loop::EventLoop;

use crate::events::SharedStreamEvents;
use crate::extra::SocketAddress;
use crate::lifecycle::{DetachListener, prepare_socket};
use crate::stream_core::{
    Kind, StreamCore, impl_read_transport, impl_stream_traits, impl_write_transport,
};

/// A stream transport over a connected TCP or Unix stream socket (asyncio's
/// `_SelectorSocketTransport`). A cheap handle: clones are the same transport. `!Send`: it
/// lives on the loop that made it.
///
/// ```
/// use std::cell::RefCell;
/// use std::io::{self, Read};
/// use std::os::unix::net::UnixStream;
/// use std::rc::Rc;
/// use tower_loop::EventLoop;
/// use tower_transport::{SocketTransport, StreamEvents, StreamTransport, WriteTransport};
///
/// /// Says hello, then closes.
/// struct Hello;
/// impl StreamEvents for Hello {
///     fn connection_made(&mut self, t: StreamTransport) {
///         t.write(b"hello").unwrap();
///         tower_transport::BaseTransport::close(&t);
///     }
///     fn connection_lost(&mut self, _exc: Option<io::Error>) {
///         tower_loop::get_running_loop().unwrap().stop();
///     }
/// }
///
/// let lp = EventLoop::new().unwrap();
/// let (ours, mut theirs) = UnixStream::pair().unwrap();
/// let _t = SocketTransport::new(&lp, ours, Rc::new(RefCell::new(Hello))).unwrap();
/// lp.run_forever().unwrap();
/// let mut got = String::new();
/// theirs.read_to_string(&mut got).unwrap();
/// assert_eq!(got, "hello");
/// lp.close().unwrap();
/// ```
#[derive(Clone)]
pub struct SocketTransport(pub(crate) Rc<StreamCore>);

impl SocketTransport {
    /// A transport over the connected stream socket `sock`, driving `protocol` on `lp`.
    /// Makes the socket non-blocking and, for TCP, sets `TCP_NODELAY`; schedules
    /// `connection_made`, then reading (asyncio's order).
    ///
    /// # Errors
    ///
    /// If `lp` is closed, or `sock` is not a socket.
    pub fn new(
        lp: &EventLoop,
        sock: impl Into<OwnedFd>,
        protocol: SharedStreamEvents,
    ) -> io::Result<SocketTransport> {
        let sock = sock.into();
        let local = prepare_socket(lp, &sock, false)?;
        Ok(Self::build(lp, sock, protocol, &local))
    }

    /// A transport over a connection a server accepted (asyncio's `_SelectorSocketTransport`
    /// built with `server=`): as [`new`](Self::new), and once the transport is done — right
    /// after the protocol's `connection_lost` — it calls `server.detach(key)` (asyncio's
    /// `Server._detach`), whatever protocol it has by then (`set_protocol` may replace it).
    ///
    /// `sock` must be non-blocking already (`accept4` with `SOCK_NONBLOCK`): this saves
    /// [`new`](Self::new)'s `ioctl(FIONBIO)`, one system call per connection. Debug builds
    /// check it.
    ///
    /// # Errors
    ///
    /// If `lp` is closed, or `sock` is not a socket; `server` is not called then.
    pub fn accepted(
        lp: &EventLoop,
        sock: OwnedFd,
        protocol: SharedStreamEvents,
        server: Rc<dyn DetachListener>,
        key: usize,
    ) -> io::Result<SocketTransport> {
        debug_assert!(
            rustix::fs::fcntl_getfl(&sock).is_ok_and(|f| f.contains(rustix::fs::OFlags::NONBLOCK)),
            "SocketTransport::accepted: the socket is blocking"
        );
        let local = prepare_socket(lp, &sock, true)?;
        let t = Self::build(lp, sock, protocol, &local);
        t.0.set_detach(server, key);
        Ok(t)
    }

    /// The transport over the prepared stream socket `sock` whose address is `local`:
    /// `TCP_NODELAY` for TCP.
    fn build(
        lp: &EventLoop,
        sock: OwnedFd,
        protocol: SharedStreamEvents,
        local: &SocketAddrAny,
    ) -> SocketTransport {
        let family = local.address_family();
        if family == AddressFamily::INET || family == AddressFamily::INET6 {
            // asyncio's `_set_nodelay`; a socket that is not TCP (SCTP...) just refuses.
            let _ = rustix::net::sockopt::set_tcp_nodelay(&sock, true);
        }
        let sockname = SocketAddress::from_any(local);
        SocketTransport(StreamCore::new(
            lp,
            sock,
            protocol,
            Kind::Socket,
            sockname,
            false,
        ))
    }

    /// Whether two handles are the same transport.
    pub fn ptr_eq(&self, other: &SocketTransport) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl_stream_traits!(SocketTransport, "SocketTransport");
impl_read_transport!(SocketTransport);
impl_write_transport!(SocketTransport);
