//! `get_extra_info`, typed: one key type per asyncio key ([`Peername`], [`Sockname`],
//! [`Socket`], [`Pipe`]), the addresses they give ([`SocketAddress`]), and the object-safe
//! [`ExtraKey`]/[`ExtraValue`] pair the transports implement.

use std::fmt;
use std::os::fd::RawFd;
use std::path::PathBuf;

use rustix::net::{AddressFamily, SocketAddrAny, SocketAddrUnix};

/// A socket's address: IP, or one of the three kinds of Unix address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketAddress {
    /// An IPv4 or IPv6 address and port.
    Inet(std::net::SocketAddr),
    /// A Unix socket bound to a path.
    UnixPath(PathBuf),
    /// A Unix socket in Linux's abstract namespace (the name, without the leading NUL).
    UnixAbstract(Vec<u8>),
    /// An unbound Unix socket (asyncio reports `''`).
    UnixUnnamed,
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Inet(a) => write!(f, "{a}"),
            SocketAddress::UnixPath(p) => write!(f, "{}", p.display()),
            SocketAddress::UnixAbstract(n) => write!(f, "@{}", String::from_utf8_lossy(n)),
            SocketAddress::UnixUnnamed => f.write_str("(unnamed)"),
        }
    }
}

impl From<std::net::SocketAddr> for SocketAddress {
    fn from(a: std::net::SocketAddr) -> Self {
        SocketAddress::Inet(a)
    }
}

impl SocketAddress {
    /// The address `sock` is bound to (`getsockname`), as the transports report addresses:
    /// what a server lists for its listening sockets.
    ///
    /// ```
    /// use tower_transport::SocketAddress;
    ///
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let at = SocketAddress::of_socket(&l).unwrap();
    /// assert_eq!(at, SocketAddress::Inet(l.local_addr().unwrap()));
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockname`'s; `InvalidInput` for a socket neither IP nor Unix.
    pub fn of_socket(sock: impl std::os::fd::AsFd) -> std::io::Result<SocketAddress> {
        let any = rustix::net::getsockname(sock)?;
        SocketAddress::from_any(&any).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not an IP or Unix socket")
        })
    }

    /// The address of `any`, if it is an IP or Unix address.
    pub(crate) fn from_any(any: &SocketAddrAny) -> Option<SocketAddress> {
        let family = any.address_family();
        if family == AddressFamily::INET || family == AddressFamily::INET6 {
            return std::net::SocketAddr::try_from(any.clone())
                .ok()
                .map(SocketAddress::Inet);
        }
        if family != AddressFamily::UNIX {
            return None;
        }
        let unix = SocketAddrUnix::try_from(any.clone()).ok()?;
        if let Some(path) = unix.path_bytes() {
            use std::os::unix::ffi::OsStrExt;
            return Some(SocketAddress::UnixPath(PathBuf::from(
                std::ffi::OsStr::from_bytes(path),
            )));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(name) = unix.abstract_name() {
            // An empty abstract name is how some kernels' unnamed addresses come back.
            if !name.is_empty() {
                return Some(SocketAddress::UnixAbstract(name.to_vec()));
            }
        }
        Some(SocketAddress::UnixUnnamed)
    }

    /// This address as rustix's, to send to; `None` for an unnamed Unix address (or an abstract
    /// one where there is no abstract namespace).
    pub(crate) fn to_any(&self) -> Option<SocketAddrAny> {
        match self {
            SocketAddress::Inet(a) => Some(SocketAddrAny::from(*a)),
            SocketAddress::UnixPath(p) => SocketAddrUnix::new(p.as_path())
                .ok()
                .map(SocketAddrAny::from),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            SocketAddress::UnixAbstract(n) => SocketAddrUnix::new_abstract_name(n)
                .ok()
                .map(SocketAddrAny::from),
            _ => None,
        }
    }
}

/// asyncio's `get_extra_info` keys, as a value (the object-safe form; see [`ExtraInfoKey`] for
/// the typed one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtraKey {
    /// `'peername'`: the remote address of a connected socket.
    Peername,
    /// `'sockname'`: the socket's own address.
    Sockname,
    /// `'socket'`: the socket's fd.
    Socket,
    /// `'pipe'`: a pipe transport's fd.
    Pipe,
}

/// What an [`ExtraKey`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtraValue {
    /// An address (`peername`, `sockname`).
    Address(SocketAddress),
    /// A raw fd (`socket`, `pipe`): valid until the transport's `connection_lost`, and still
    /// owned by the transport — do not close it.
    Fd(RawFd),
}

mod sealed {
    pub trait Sealed {}
}

/// A typed `get_extra_info` key: [`Peername`], [`Sockname`], [`Socket`] or [`Pipe`].
pub trait ExtraInfoKey: sealed::Sealed {
    /// What the key gives.
    type Value;
    /// The key as a value.
    const KEY: ExtraKey;
    /// The typed value from the object-safe one.
    fn from_value(value: ExtraValue) -> Option<Self::Value>;
}

macro_rules! keys {
    ($($(#[$doc:meta])* $name:ident => $key:ident, $value:ty, $variant:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl sealed::Sealed for $name {}

        impl ExtraInfoKey for $name {
            type Value = $value;
            const KEY: ExtraKey = ExtraKey::$key;
            fn from_value(value: ExtraValue) -> Option<$value> {
                match value {
                    ExtraValue::$variant(v) => Some(v),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }
    )*};
}

keys! {
    /// `get_extra_info('peername')`: the remote address (`None` if the socket is not
    /// connected or is closed).
    Peername => Peername, SocketAddress, Address;
    /// `get_extra_info('sockname')`: the socket's own address.
    Sockname => Sockname, SocketAddress, Address;
    /// `get_extra_info('socket')`: the socket's raw fd (owned by the transport; `None` once it
    /// is closed).
    Socket => Socket, RawFd, Fd;
    /// `get_extra_info('pipe')`: a pipe transport's raw fd (`None` for socket transports).
    Pipe => Pipe, RawFd, Fd;
}
