//! Host name resolution off the loop (asyncio's `loop.getaddrinfo` and `_ensure_resolved`):
//! a literal address is parsed on the spot, a name is resolved by the system resolver on the
//! blocking pool, so the loop never waits on DNS.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Which address families a lookup keeps (asyncio's `family=`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Both IPv4 and IPv6 (`AF_UNSPEC`), in the resolver's order.
    #[default]
    Any,
    /// IPv4 only (`AF_INET`).
    V4,
    /// IPv6 only (`AF_INET6`).
    V6,
}

impl Family {
    /// Whether `addr` belongs to this family.
    pub fn admits(self, addr: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }
}

/// The addresses of `host` at `port`, in the resolver's order, keeping only `family`.
///
/// A literal IPv4 or IPv6 address (`"127.0.0.1"`, `"::1"`, `"[::1]"`) is answered at once; a
/// name goes to the system resolver on the blocking pool ([`tower_exec::to_thread`]).
/// Dropping the future mid-way abandons the lookup (the pool thread finishes it and the answer
/// is dropped).
///
/// # Errors
///
/// What the resolver says (`NotFound`-like errors for unknown names), or `AddrNotAvailable`
/// when it answered with no address of `family`.
///
/// ```
/// use std::net::SocketAddr;
/// use tower_loop::EventLoop;
/// use tower_protocol::{Family, getaddrinfo};
///
/// let lp = EventLoop::new().unwrap();
/// let addrs = lp.run_until_complete(getaddrinfo("127.0.0.1", 8080, Family::Any)).unwrap();
/// assert_eq!(addrs.unwrap(), ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]);
/// lp.close().unwrap();
/// ```
pub async fn getaddrinfo(host: &str, port: u16, family: Family) -> io::Result<Vec<SocketAddr>> {
    let addrs = match literal(host) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => {
            let host = host.to_owned();
            tower_exec::to_thread(move || {
                (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|it| it.collect::<Vec<_>>())
            })
            .await
            .unwrap_or_else(|err| match err.into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(err) => Err(io::Error::other(err.to_string())),
            })?
        }
    };
    let kept: Vec<SocketAddr> = addrs.into_iter().filter(|a| family.admits(a)).collect();
    if kept.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("getaddrinfo({host:?}) returned no address of family {family:?}"),
        ));
    }
    Ok(kept)
}

/// `host` as a literal IP address, brackets allowed around IPv6.
fn literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_need_no_resolver() {
        assert_eq!(literal("10.0.0.1"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(literal("::1"), Some("::1".parse().unwrap()));
        assert_eq!(literal("localhost"), None);
    }

    #[test]
    fn family_filters() {
        let v4: SocketAddr = "1.2.3.4:1".parse().unwrap();
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        assert!(Family::V4.admits(&v4) && !Family::V4.admits(&v6));
        assert!(Family::V6.admits(&v6) && !Family::V6.admits(&v4));
        assert!(Family::Any.admits(&v4) && Family::Any.admits(&v6));
    }
}
