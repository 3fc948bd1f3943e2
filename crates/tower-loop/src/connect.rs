//! An async connect on [`Async`]: [`Async::<TcpStream>::connect`](Async::connect) (by
//! `SocketAddr`) and [`Async::<UnixStream>::connect`](Async::connect) (by path), as async-io
//! has them.
//!
//! The socket is made non-blocking and close-on-exec at creation, the connect is started, and
//! only then is the fd registered with the running loop (an unconnected TCP socket reports
//! writable-and-hung-up, which would end the wait before the handshake did). The wait is the
//! writability of the fd, and the result is read from `SO_ERROR` and `getpeername`, so a
//! spurious wake-up never returns a socket that is not connected yet.
//!
//! The futures are `Send` (they hold an `Async`, the address and nothing else), so a `Send`
//! task on the multi-thread runtime can await them; the socket registers with the loop that
//! polls the future first (or that loop's `IoDriver`).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};

use crate::async_fd::Async;

impl Async<TcpStream> {
    /// Opens a TCP connection to `addr` (no name resolution: tier 8's `create_connection`
    /// resolves hosts and races addresses).
    ///
    /// Dropping the future mid-way closes the socket: the attempt is abandoned (a handshake
    /// the kernel completed meanwhile is closed, and the peer sees the connection end); nothing
    /// else is left behind.
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use tower_loop::{Async, EventLoop};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// let lp = EventLoop::new().unwrap();
    /// let stream = lp.run_until_complete(Async::<std::net::TcpStream>::connect(addr)).unwrap().unwrap();
    /// assert_eq!(stream.get_ref().peer_addr().unwrap(), addr);
    /// ```
    ///
    /// # Errors
    ///
    /// The connect's error (`ConnectionRefused`, ...), a socket-creation error, or no running
    /// loop on this thread.
    pub async fn connect<A: Into<SocketAddr>>(addr: A) -> io::Result<Async<TcpStream>> {
        let addr = addr.into();
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::INET,
            SocketAddr::V6(_) => AddressFamily::INET6,
        };
        let fd = socket(family)?;
        start(rustix::net::connect(&fd, &addr))?;
        let stream = Async::new(TcpStream::from(fd))?;
        stream
            .write_with(|s| connected(s.take_error(), s.peer_addr().map(drop)))
            .await?;
        Ok(stream)
    }
}

impl Async<UnixStream> {
    /// Connects to the Unix socket at `path`.
    ///
    /// Dropping the future mid-way closes the socket, abandoning the attempt.
    ///
    /// ```
    /// use std::os::unix::net::{UnixListener, UnixStream};
    /// use tower_loop::{Async, EventLoop};
    ///
    /// let dir = std::env::temp_dir().join(format!("tower-connect-doc-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&dir);
    /// let _listener = UnixListener::bind(&dir).unwrap();
    /// let lp = EventLoop::new().unwrap();
    /// let s = lp.run_until_complete(Async::<UnixStream>::connect(&dir)).unwrap().unwrap();
    /// assert!(s.get_ref().peer_addr().is_ok());
    /// std::fs::remove_file(&dir).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The connect's error (`NotFound`, `ConnectionRefused`, `WouldBlock` when the listener's
    /// backlog is full, as a non-blocking Unix connect reports it), a path too long for a
    /// socket address, or no running loop on this thread.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<Async<UnixStream>> {
        let addr = SocketAddrUnix::new(path.as_ref())?;
        let fd = socket(AddressFamily::UNIX)?;
        start(rustix::net::connect(&fd, &addr))?;
        let stream = Async::new(UnixStream::from(fd))?;
        stream
            .write_with(|s| connected(s.take_error(), s.peer_addr().map(drop)))
            .await?;
        Ok(stream)
    }
}

/// A non-blocking, close-on-exec stream socket of `family`.
fn socket(family: AddressFamily) -> io::Result<OwnedFd> {
    Ok(crate::sock::nonblocking_socket(family, SocketType::STREAM)?)
}

/// The result of starting a non-blocking connect: done, or in progress (to be waited for).
fn start(res: rustix::io::Result<()>) -> io::Result<()> {
    match res {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => Ok(()),
        // A signal interrupted it: the connect goes on asynchronously (POSIX), as for EINPROGRESS.
        Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Whether a connect in progress ended: its error (`SO_ERROR`), done (`getpeername` works), or
/// still going (`WouldBlock`, so the caller waits for the next writability).
fn connected(error: io::Result<Option<io::Error>>, peer: io::Result<()>) -> io::Result<()> {
    if let Some(e) = error? {
        return Err(e);
    }
    match peer {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
}
