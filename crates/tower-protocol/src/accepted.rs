//! `connect_accepted_socket` (asyncio's `loop.connect_accepted_socket`): a connection
//! accepted outside the loop's servers, handed to a protocol on the running loop.

use std::cell::RefCell;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use rustix::net::SocketType;
use tower_transport::StreamTransport;

use crate::connect::{check_type, running_loop, stream_transport};
use crate::protocols::Protocol;

/// Hands `sock`, a stream socket accepted elsewhere (`accept(2)`, a [`std::net::TcpListener`],
/// a socket passed by another process), to a new protocol made by `factory` on the running
/// loop, as a server-side connection; returns once `connection_made` has run.
///
/// # Errors
///
/// `InvalidInput` if `sock` is not a stream socket (asyncio's `ValueError`); the transport's
/// errors; outside a running loop, `Other`. On error `sock` is closed.
///
/// # Cancellation
///
/// Dropping the future before the transport exists closes `sock`; after, closes the transport.
///
/// ```
/// use std::io::Read;
/// use std::net::{TcpListener, TcpStream};
/// use tower_protocol::{Protocol, connect_accepted_socket};
/// use tower_transport::{BaseTransport, StreamTransport, WriteTransport};
///
/// struct Greeter;
/// impl Protocol for Greeter {
///     fn connection_made(&mut self, t: StreamTransport) {
///         t.write(b"hello").unwrap();
///         t.close();
///     }
/// }
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
/// let (accepted, _) = listener.accept().unwrap();
/// tower_task::run(async move {
///     connect_accepted_socket(|| Greeter, accepted).await.unwrap();
///     tower_task::sleep(std::time::Duration::from_millis(1)).await; // let close finish
/// })
/// .unwrap();
/// let mut got = String::new();
/// client.read_to_string(&mut got).unwrap();
/// assert_eq!(got, "hello");
/// ```
pub async fn connect_accepted_socket<P, F>(
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
