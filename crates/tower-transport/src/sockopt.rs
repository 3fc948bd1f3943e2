//! [`sockopt`](crate::sockopt): the socket options a transport user sets — keep-alive (on/off,
//! and the TCP idle time, probe interval and probe count: [`KeepAlive`]), `TCP_NODELAY`
//! (on by default, asyncio's `_set_nodelay`) on [`SocketTransport`], and `SO_REUSEPORT` for a
//! socket before it is bound ([`set_reuse_port`]: `create_server(reuse_port=True)`,
//! `create_datagram_endpoint(reuse_port=True)`).

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use crate::socket::SocketTransport;

/// TCP keep-alive timing (`TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`); `None` leaves the
/// system's value. Linux rounds the times down to whole seconds (at least 1 s).
///
/// ```
/// use std::time::Duration;
/// use tower_transport::sockopt::KeepAlive;
///
/// let ka = KeepAlive::default().idle(Duration::from_secs(60)).retries(4);
/// assert_eq!(ka.interval, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeepAlive {
    /// Idle time before the first probe (`TCP_KEEPIDLE`).
    pub idle: Option<Duration>,
    /// Time between probes (`TCP_KEEPINTVL`).
    pub interval: Option<Duration>,
    /// Unanswered probes before the connection is dropped (`TCP_KEEPCNT`).
    pub retries: Option<u32>,
}

impl KeepAlive {
    /// With the idle time before the first probe.
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// With the time between probes.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// With the number of unanswered probes before the connection drops.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }
}

/// Sets `SO_KEEPALIVE` on `sock`, and with `timing` the TCP probe timing.
///
/// # Errors
///
/// The system's: `timing` on a socket that is not TCP (`EOPNOTSUPP`), a closed socket.
pub fn set_keep_alive(sock: impl AsFd, on: bool, timing: Option<KeepAlive>) -> io::Result<()> {
    let sock = sock.as_fd();
    rustix::net::sockopt::set_socket_keepalive(sock, on)?;
    if let Some(t) = timing {
        if let Some(idle) = t.idle {
            rustix::net::sockopt::set_tcp_keepidle(sock, idle)?;
        }
        if let Some(interval) = t.interval {
            rustix::net::sockopt::set_tcp_keepintvl(sock, interval)?;
        }
        if let Some(retries) = t.retries {
            rustix::net::sockopt::set_tcp_keepcnt(sock, retries)?;
        }
    }
    Ok(())
}

/// Sets `SO_REUSEPORT` on `sock` (before `bind`: several sockets may then bind one address,
/// and the kernel spreads connections or datagrams among them). asyncio's `_set_reuseport`.
///
/// # Errors
///
/// The system's (`ENOPROTOOPT` where the kernel has no `SO_REUSEPORT`).
pub fn set_reuse_port(sock: impl AsFd, on: bool) -> io::Result<()> {
    Ok(rustix::net::sockopt::set_socket_reuseport(sock, on)?)
}

/// Whether `sock` has `SO_REUSEPORT`.
///
/// # Errors
///
/// The system's.
pub fn reuse_port(sock: impl AsFd) -> io::Result<bool> {
    Ok(rustix::net::sockopt::socket_reuseport(sock)?)
}

/// Socket options on the transport's socket (`NotConnected` once the transport has closed
/// it).
impl SocketTransport {
    /// Turns keep-alive on or off (`SO_KEEPALIVE`; asyncio's `create_server(keep_alive=True)`
    /// sets it on each accepted socket).
    ///
    /// ```
    /// # use std::cell::RefCell; use std::rc::Rc; use std::net::{TcpListener, TcpStream};
    /// # use tower_loop::EventLoop; use tower_transport::{SocketTransport, StreamEvents};
    /// # struct Quiet; impl StreamEvents for Quiet {}
    /// use std::time::Duration;
    /// use tower_transport::sockopt::KeepAlive;
    ///
    /// # let lp = EventLoop::new().unwrap();
    /// # let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let sock = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let t = SocketTransport::new(&lp, sock, Rc::new(RefCell::new(Quiet))).unwrap();
    /// t.set_keep_alive(true).unwrap();
    /// t.set_keep_alive_timing(KeepAlive::default().idle(Duration::from_secs(30))).unwrap();
    /// assert!(t.keep_alive().unwrap());
    /// # lp.close().unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The system's, or `NotConnected` once closed.
    pub fn set_keep_alive(&self, on: bool) -> io::Result<()> {
        self.0.with_fd(|fd| set_keep_alive(fd, on, None))
    }

    /// Whether keep-alive is on.
    ///
    /// # Errors
    ///
    /// The system's, or `NotConnected` once closed.
    pub fn keep_alive(&self) -> io::Result<bool> {
        self.0
            .with_fd(|fd| Ok(rustix::net::sockopt::socket_keepalive(fd)?))
    }

    /// Turns keep-alive on with the TCP probe timing `timing`.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` on a Unix socket, the system's, or `NotConnected` once closed.
    pub fn set_keep_alive_timing(&self, timing: KeepAlive) -> io::Result<()> {
        self.0.with_fd(|fd| set_keep_alive(fd, true, Some(timing)))
    }

    /// The TCP probe timing in force (every field `Some`).
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` on a Unix socket, the system's, or `NotConnected` once closed.
    pub fn keep_alive_timing(&self) -> io::Result<KeepAlive> {
        self.0.with_fd(|fd| {
            Ok(KeepAlive {
                idle: Some(rustix::net::sockopt::tcp_keepidle(fd)?),
                interval: Some(rustix::net::sockopt::tcp_keepintvl(fd)?),
                retries: Some(rustix::net::sockopt::tcp_keepcnt(fd)?),
            })
        })
    }

    /// Sets `TCP_NODELAY` (on from construction, as asyncio's `_set_nodelay`).
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` on a Unix socket, the system's, or `NotConnected` once closed.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.0
            .with_fd(|fd| Ok(rustix::net::sockopt::set_tcp_nodelay(fd, on)?))
    }

    /// Whether `TCP_NODELAY` is on.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` on a Unix socket, the system's, or `NotConnected` once closed.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.0
            .with_fd(|fd| Ok(rustix::net::sockopt::tcp_nodelay(fd)?))
    }

    /// Whether the socket has `SO_REUSEPORT` (set before it was bound, [`set_reuse_port`]).
    ///
    /// # Errors
    ///
    /// The system's, or `NotConnected` once closed.
    pub fn reuse_port(&self) -> io::Result<bool> {
        self.0.with_fd(|fd| reuse_port(fd))
    }
}
