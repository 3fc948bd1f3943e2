//! [`Host`]: where every factory connects, binds or listens (asyncio's `host` argument:
//! `None`, a name, or a list of names), one type for clients and servers, and its resolution
//! to socket addresses (asyncio's `_ensure_resolved`, and `create_server`'s loop over hosts).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::resolve::{Family, getaddrinfo};

/// Where to connect, bind or listen (asyncio's `host`): no host ([`Host::All`]), names or
/// literal addresses (resolved off the loop, [`getaddrinfo`]), or addresses already known.
/// Made with `From`.
///
/// - `None`, `""` or [`Host::All`]: for a server (and a datagram endpoint's `local_addr`),
///   every interface — one socket per address family (`0.0.0.0` and `::`), as asyncio's
///   `getaddrinfo(None, port, AI_PASSIVE)`; a connection (or a `remote_addr`) needs a host
///   and refuses it (`InvalidInput`).
/// - `"example.org"`, `"::1"`, a `String`, or a list of them (`["a", "b"]`, `Vec<&str>`,
///   `Vec<String>`): each is resolved; their addresses are tried in order by a connection,
///   all bound (once each) by a server.
/// - an [`IpAddr`] (or `Ipv4Addr`, `Ipv6Addr`), `Vec<IpAddr>`, `&[IpAddr]`: no resolver.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use tower_protocol::Host;
///
/// assert_eq!(Host::from(None), Host::All);
/// assert_eq!(Host::from(""), Host::All);
/// assert_eq!(Host::from("::1"), Host::Names(vec!["::1".into()]));
/// assert_eq!(Host::from(["127.0.0.1", "localhost"]).len(), Some(2));
/// assert_eq!(
///     Host::from(Ipv4Addr::LOCALHOST),
///     Host::Addrs(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
/// );
/// ```
#[doc(alias = "Hosts")]
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub enum Host {
    /// No host: every interface for a server (asyncio's `None` or `""`).
    #[default]
    All,
    /// Names or literal addresses, each resolved (asyncio's `host`, or a list of them).
    Names(Vec<String>),
    /// Addresses already known (tried in turn by a connection, as a name's addresses).
    Addrs(Vec<IpAddr>),
}

impl Host {
    /// How many names or addresses; `None` for [`Host::All`].
    pub fn len(&self) -> Option<usize> {
        match self {
            Host::All => None,
            Host::Names(n) => Some(n.len()),
            Host::Addrs(a) => Some(a.len()),
        }
    }

    /// Whether this is an empty list (no address at all: an error for every factory).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl From<&str> for Host {
    fn from(host: &str) -> Self {
        if host.is_empty() {
            Host::All
        } else {
            Host::Names(vec![host.to_owned()])
        }
    }
}

impl From<String> for Host {
    fn from(host: String) -> Self {
        if host.is_empty() {
            Host::All
        } else {
            Host::Names(vec![host])
        }
    }
}

impl From<&String> for Host {
    fn from(host: &String) -> Self {
        Host::from(host.as_str())
    }
}

impl From<Option<&str>> for Host {
    fn from(host: Option<&str>) -> Self {
        host.map_or(Host::All, Host::from)
    }
}

impl From<&[&str]> for Host {
    fn from(hosts: &[&str]) -> Self {
        Host::Names(hosts.iter().map(|h| (*h).to_owned()).collect())
    }
}

impl<const N: usize> From<[&str; N]> for Host {
    fn from(hosts: [&str; N]) -> Self {
        Host::from(&hosts[..])
    }
}

impl From<Vec<&str>> for Host {
    fn from(hosts: Vec<&str>) -> Self {
        Host::from(&hosts[..])
    }
}

impl From<Vec<String>> for Host {
    fn from(hosts: Vec<String>) -> Self {
        Host::Names(hosts)
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        Host::Addrs(vec![ip])
    }
}

impl From<Ipv4Addr> for Host {
    fn from(ip: Ipv4Addr) -> Self {
        Host::Addrs(vec![ip.into()])
    }
}

impl From<Ipv6Addr> for Host {
    fn from(ip: Ipv6Addr) -> Self {
        Host::Addrs(vec![ip.into()])
    }
}

impl From<Vec<IpAddr>> for Host {
    fn from(ips: Vec<IpAddr>) -> Self {
        Host::Addrs(ips)
    }
}

impl From<&[IpAddr]> for Host {
    fn from(ips: &[IpAddr]) -> Self {
        Host::Addrs(ips.to_vec())
    }
}

/// What [`Host::All`] means to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoHost {
    /// Every interface: the wildcard address of each family (a server, a local address).
    Wildcard,
    /// An error: a destination is needed (a connection, a remote address).
    Refused,
}

/// `host`'s addresses at `port` of `family`, in order, each once (asyncio's
/// `_ensure_resolved`, over every name of a list).
///
/// # Errors
///
/// [`Host::All`] with [`NoHost::Refused`], and an empty list: `InvalidInput`; the resolver's
/// errors; no address of `family`: `AddrNotAvailable` (asyncio's "getaddrinfo() returned
/// empty list").
pub(crate) async fn resolve(
    host: &Host,
    port: u16,
    family: Family,
    no_host: NoHost,
) -> io::Result<Vec<SocketAddr>> {
    let mut out: Vec<SocketAddr> = Vec::new();
    let mut push = |a: SocketAddr| {
        if family.admits(&a) && !out.contains(&a) {
            out.push(a);
        }
    };
    match host {
        Host::All if no_host == NoHost::Refused => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no host given: host and port must be specified, or a socket",
            ));
        }
        Host::All => {
            // asyncio's getaddrinfo(None, port, AI_PASSIVE): the wildcard of each family.
            push(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port));
            push(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port));
        }
        _ if host.is_empty() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty list of hosts was given",
            ));
        }
        Host::Names(names) => {
            for name in names {
                for a in getaddrinfo(name, port, family).await? {
                    push(a);
                }
            }
        }
        Host::Addrs(ips) => {
            for ip in ips {
                push(SocketAddr::new(*ip, port));
            }
        }
    }
    if out.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "getaddrinfo() returned empty list",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        let lp = tower_loop::EventLoop::new().unwrap();
        let out = lp.run_until_complete(f).unwrap();
        lp.close().unwrap();
        out
    }

    #[test]
    fn all_is_the_wildcards_or_refused() {
        let any = run(resolve(&Host::All, 80, Family::Any, NoHost::Wildcard)).unwrap();
        assert_eq!(
            any,
            [
                "0.0.0.0:80".parse::<SocketAddr>().unwrap(),
                "[::]:80".parse().unwrap()
            ]
        );
        let v6 = run(resolve(&Host::All, 80, Family::V6, NoHost::Wildcard)).unwrap();
        assert_eq!(v6, ["[::]:80".parse::<SocketAddr>().unwrap()]);
        let err = run(resolve(&Host::All, 80, Family::Any, NoHost::Refused)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn lists_keep_order_once_each() {
        let h = Host::from(["127.0.0.2", "127.0.0.1", "127.0.0.2"]);
        let got = run(resolve(&h, 1, Family::Any, NoHost::Refused)).unwrap();
        assert_eq!(
            got,
            [
                "127.0.0.2:1".parse::<SocketAddr>().unwrap(),
                "127.0.0.1:1".parse().unwrap()
            ]
        );
        let empty = Host::Names(Vec::new());
        let err = run(resolve(&empty, 1, Family::Any, NoHost::Wildcard)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let v4_only = Host::from(Ipv6Addr::LOCALHOST);
        let err = run(resolve(&v4_only, 1, Family::V4, NoHost::Refused)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
    }
}
