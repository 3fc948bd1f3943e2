//! `create_unix_connection` (asyncio's `loop.create_unix_connection`): a Unix stream socket
//! connected to a path without blocking the loop, handed to a protocol on the running loop.
//! An already connected Unix socket goes through [`create_connection_sock`](crate::create_connection_sock).

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};
use tower_loop::Async;
use tower_transport::StreamTransport;

use crate::connect::{running_loop, stream_transport};
use crate::protocols::Protocol;

/// Connects a Unix stream socket to `path` and hands it to a new protocol made by `factory`
/// on the running loop; returns once `connection_made` has run.
///
/// The connect never blocks the loop: a listener whose backlog is full (`EAGAIN`) is asked
/// again after a short, growing pause (1 ms up to 64 ms), as a blocking connect would wait.
///
/// # Errors
///
/// What `connect(2)` reports (`NotFound` for no such path, `ConnectionRefused` for a path no
/// one listens on); outside a running loop, `Other`.
///
/// # Cancellation
///
/// Dropping the future closes the socket (or, once the transport exists, the transport).
///
/// ```
/// use std::os::unix::net::UnixListener;
/// use tower_protocol::{Protocol, create_unix_connection};
/// use tower_transport::BaseTransport;
///
/// struct Quiet;
/// impl Protocol for Quiet {}
///
/// let dir = std::env::temp_dir().join(format!("tower-unix-doc-{}", std::process::id()));
/// let _ = std::fs::remove_file(&dir);
/// let listener = UnixListener::bind(&dir).unwrap();
/// tower_task::run(async {
///     let (t, _p) = create_unix_connection(|| Quiet, &dir).await.unwrap();
///     t.close();
/// })
/// .unwrap();
/// drop(listener);
/// std::fs::remove_file(&dir).unwrap();
/// ```
pub async fn create_unix_connection<P, F>(
    factory: F,
    path: impl AsRef<Path>,
) -> io::Result<(StreamTransport, Rc<RefCell<P>>)>
where
    P: Protocol,
    F: FnOnce() -> P,
{
    let lp = running_loop()?;
    let addr = SocketAddrUnix::new(path.as_ref())?;
    let mut sock = crate::connect::new_socket(AddressFamily::UNIX, SocketType::STREAM)?;
    let mut pause = Duration::from_millis(1);
    loop {
        match rustix::net::connect(&sock, &addr) {
            Ok(()) => break,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                tower_task::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(64));
            }
            Err(Errno::INPROGRESS) => {
                // Not on Linux for Unix sockets, but POSIX allows it: wait, then ask.
                let waiting = Async::new(sock)?;
                waiting.writable().await?;
                sock = waiting.into_inner()?;
                rustix::net::sockopt::socket_error(&sock)??;
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    stream_transport(&lp, sock, factory).await
}
