//! Happy eyeballs helpers (RFC 8305, as asyncio's `base_events.py` does it): the address
//! order ([`interleave`], asyncio's `_interleave_addrinfos`) and the error a failed
//! `create_connection` reports ([`ConnectionErrors`], [`ConnectCallFailed`]; asyncio's "one
//! error, the same message, else `Multiple exceptions: ...`" rule, and `all_errors`).

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// Reorders `addrs` so the address families alternate, as asyncio's
/// `_interleave_addrinfos`: the families in the order they first appear, the first
/// `first_family_count` addresses of the first family first (a count of 0 is taken as 1),
/// then one address of each family in turn.
///
/// ```
/// use std::net::SocketAddr;
/// use tower_protocol::interleave;
///
/// let a = |s: &str| s.parse::<SocketAddr>().unwrap();
/// let addrs = [a("[::1]:80"), a("[::2]:80"), a("[::3]:80"), a("10.0.0.1:80"), a("10.0.0.2:80")];
/// assert_eq!(
///     interleave(&addrs, 1),
///     [a("[::1]:80"), a("10.0.0.1:80"), a("[::2]:80"), a("10.0.0.2:80"), a("[::3]:80")]
/// );
/// assert_eq!(
///     interleave(&addrs, 2),
///     [a("[::1]:80"), a("[::2]:80"), a("10.0.0.1:80"), a("[::3]:80"), a("10.0.0.2:80")]
/// );
/// ```
pub fn interleave(addrs: &[SocketAddr], first_family_count: usize) -> Vec<SocketAddr> {
    // The families in order of first appearance: at most two for `SocketAddr`.
    let mut lists: Vec<Vec<SocketAddr>> = Vec::with_capacity(2);
    for addr in addrs {
        match lists.iter_mut().find(|l| l[0].is_ipv4() == addr.is_ipv4()) {
            Some(list) => list.push(*addr),
            None => lists.push(vec![*addr]),
        }
    }
    let mut out = Vec::with_capacity(addrs.len());
    let Some(first) = lists.first_mut() else {
        return out;
    };
    let lead = first_family_count.saturating_sub(1).min(first.len());
    out.extend(first.drain(..lead));
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        out.extend(lists.iter().filter_map(|l| l.get(i)));
    }
    out
}

/// A connection attempt to one address failed (asyncio's `OSError(errno, "Connect call
/// failed {address}")`): the address and the kernel's error, which is the
/// [`source`](Error::source). Carried inside the `io::Error` `create_connection` reports,
/// with the kernel error's kind.
#[derive(Debug)]
pub struct ConnectCallFailed {
    /// Where the attempt went.
    pub addr: SocketAddr,
    /// What the kernel said (`ECONNREFUSED`, ...): its `raw_os_error` is there.
    pub error: io::Error,
}

impl ConnectCallFailed {
    /// `error` wrapped with `addr`, as an `io::Error` of the same kind.
    pub(crate) fn wrap(addr: SocketAddr, error: io::Error) -> io::Error {
        io::Error::new(error.kind(), ConnectCallFailed { addr, error })
    }
}

impl fmt::Display for ConnectCallFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connect call failed {}: {}", self.addr, self.error)
    }
}

impl Error for ConnectCallFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// Every error of a failed `create_connection`, when there was more than one to tell:
/// asyncio's `OSError("Multiple exceptions: ...")` (the errors' messages differ), or, with
/// `all_errors(true)`, its `ExceptionGroup("create_connection failed", ...)`. It is the inner
/// error of the `io::Error` returned (`err.get_ref()` and `downcast_ref`), whose kind is the
/// errors' kind when they all share one, else `Other`.
///
/// ```
/// use std::io;
/// use tower_protocol::ConnectionErrors;
///
/// fn show(err: &io::Error) -> usize {
///     match err.get_ref().and_then(|e| e.downcast_ref::<ConnectionErrors>()) {
///         Some(all) => all.errors().len(),
///         None => 1,
///     }
/// }
/// assert_eq!(show(&io::Error::from(io::ErrorKind::ConnectionRefused)), 1);
/// ```
#[derive(Debug)]
pub struct ConnectionErrors {
    /// `Multiple exceptions: ...` or `create_connection failed`.
    message: String,
    /// In the order the attempts failed.
    errors: Vec<io::Error>,
}

impl ConnectionErrors {
    /// Every error, in the order the attempts (and their local binds) failed.
    pub fn errors(&self) -> &[io::Error] {
        &self.errors
    }

    /// The errors, owned.
    pub fn into_errors(self) -> Vec<io::Error> {
        self.errors
    }
}

impl fmt::Display for ConnectionErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for ConnectionErrors {}

/// The kind every error shares, else `Other`.
fn common_kind(errors: &[io::Error]) -> io::ErrorKind {
    match errors.split_first() {
        Some((first, rest)) if rest.iter().all(|e| e.kind() == first.kind()) => first.kind(),
        _ => io::ErrorKind::Other,
    }
}

/// The one error a failed `create_connection` reports, asyncio's rule: with `all_errors`,
/// every error ([`ConnectionErrors`], "create_connection failed (N sub-exceptions)"); else
/// the only error, or the first if all have the same message, or "Multiple exceptions: a,
/// b, ..." with the list kept.
pub(crate) fn combine(mut errors: Vec<io::Error>, all_errors: bool) -> io::Error {
    if errors.is_empty() {
        return io::Error::other("create_connection failed: no address was tried");
    }
    if all_errors {
        let message = format!(
            "create_connection failed ({} sub-exception{})",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        return io::Error::new(common_kind(&errors), ConnectionErrors { message, errors });
    }
    if errors.len() == 1 {
        return errors
            .pop()
            .unwrap_or_else(|| io::Error::other("unreachable"));
    }
    let model = errors[0].to_string();
    if errors.iter().all(|e| e.to_string() == model) {
        return errors.swap_remove(0);
    }
    let message = format!(
        "Multiple exceptions: {}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    io::Error::new(common_kind(&errors), ConnectionErrors { message, errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn interleave_keeps_order_within_a_family() {
        let v4 = [a("1.1.1.1:1"), a("1.1.1.2:1")];
        assert_eq!(interleave(&v4, 1), v4);
        assert_eq!(interleave(&[], 1), []);
        let mixed = [a("1.1.1.1:1"), a("[::1]:1"), a("1.1.1.2:1"), a("1.1.1.3:1")];
        assert_eq!(
            interleave(&mixed, 1),
            [a("1.1.1.1:1"), a("[::1]:1"), a("1.1.1.2:1"), a("1.1.1.3:1")]
        );
        assert_eq!(
            interleave(&mixed, 3),
            [a("1.1.1.1:1"), a("1.1.1.2:1"), a("1.1.1.3:1"), a("[::1]:1")]
        );
        assert_eq!(interleave(&mixed, 0), interleave(&mixed, 1));
    }

    #[test]
    fn one_error_is_itself() {
        let e = combine(
            vec![io::Error::from(io::ErrorKind::ConnectionRefused)],
            false,
        );
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(e.get_ref().is_none());
    }

    #[test]
    fn same_message_is_the_first() {
        let errs = vec![
            io::Error::from_raw_os_error(111),
            io::Error::from_raw_os_error(111),
        ];
        let e = combine(errs, false);
        assert_eq!(e.raw_os_error(), Some(111));
    }

    #[test]
    fn different_messages_are_multiple() {
        let errs = vec![
            ConnectCallFailed::wrap(a("1.1.1.1:1"), io::Error::from_raw_os_error(111)),
            ConnectCallFailed::wrap(a("1.1.1.2:1"), io::Error::from_raw_os_error(111)),
        ];
        let e = combine(errs, false);
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(
            e.to_string()
                .starts_with("Multiple exceptions: connect call failed 1.1.1.1:1")
        );
        let all = e
            .get_ref()
            .unwrap()
            .downcast_ref::<ConnectionErrors>()
            .unwrap();
        assert_eq!(all.errors().len(), 2);
    }

    #[test]
    fn all_errors_keeps_the_list() {
        let errs = vec![
            io::Error::from(io::ErrorKind::ConnectionRefused),
            io::Error::from(io::ErrorKind::TimedOut),
        ];
        let e = combine(errs, true);
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert_eq!(e.to_string(), "create_connection failed (2 sub-exceptions)");
        let one = combine(vec![io::Error::from(io::ErrorKind::TimedOut)], true);
        assert_eq!(one.kind(), io::ErrorKind::TimedOut);
        assert!(one.get_ref().unwrap().is::<ConnectionErrors>());
    }
}
