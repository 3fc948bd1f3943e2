//! `connect_read_pipe` and `connect_write_pipe` (asyncio's `loop.connect_read_pipe`,
//! `loop.connect_write_pipe`): a pipe's end handed to a protocol on the running loop through
//! tier 7's pipe transports.

use std::cell::RefCell;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use tower_transport::{ReadPipeTransport, WritePipeTransport};

use crate::connect::{connection_made, running_loop};
use crate::protocols::Protocol;

/// Reads `pipe` (a pipe's read end, a FIFO, a socket used one way, a character device) into a
/// new protocol made by `factory` on the running loop; returns once `connection_made` has
/// run. The pipe is made non-blocking. At end of stream the protocol gets `eof_received`,
/// then `connection_lost(None)`.
///
/// # Errors
///
/// `InvalidInput` if `pipe` is no pipe, FIFO, socket or character device; outside a running
/// loop, `Other`. On error `pipe` is closed.
///
/// # Cancellation
///
/// Dropping the future closes the transport (and so the pipe).
///
/// ```
/// use std::io::Write;
/// use tower_protocol::{Protocol, connect_read_pipe};
///
/// #[derive(Default)]
/// struct Collect(Vec<u8>, bool);
/// impl Protocol for Collect {
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.extend_from_slice(data);
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         self.1 = true;
///     }
/// }
///
/// let (read, write) = tower_loop::pipe().unwrap();
/// std::fs::File::from(write).write_all(b"piped").unwrap(); // and closed
/// let got = tower_task::run(async move {
///     let (_t, protocol) = connect_read_pipe(Collect::default, read).await.unwrap();
///     while !protocol.borrow().1 {
///         tower_task::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     let got = std::mem::take(&mut protocol.borrow_mut().0);
///     got
/// })
/// .unwrap();
/// assert_eq!(got, b"piped");
/// ```
pub async fn connect_read_pipe<P, F>(
    factory: F,
    pipe: impl Into<OwnedFd>,
) -> io::Result<(ReadPipeTransport, Rc<RefCell<P>>)>
where
    P: Protocol,
    F: FnOnce() -> P,
{
    let pipe = pipe.into();
    let lp = running_loop()?;
    let protocol = Rc::new(RefCell::new(factory()));
    let transport = ReadPipeTransport::new(&lp, pipe, protocol.clone())?;
    connection_made(&lp, &transport).await;
    Ok((transport, protocol))
}

/// Writes to `pipe` (a pipe's write end, a FIFO, a socket used one way, a character device)
/// through a transport whose protocol `factory` makes on the running loop; returns once
/// `connection_made` has run. The pipe is made non-blocking; when its read end closes the
/// transport closes (`connection_lost`, with `BrokenPipe` if data was still buffered).
///
/// # Errors
///
/// As [`connect_read_pipe`].
///
/// # Cancellation
///
/// Dropping the future closes the transport (and so the pipe).
pub async fn connect_write_pipe<P, F>(
    factory: F,
    pipe: impl Into<OwnedFd>,
) -> io::Result<(WritePipeTransport, Rc<RefCell<P>>)>
where
    P: Protocol,
    F: FnOnce() -> P,
{
    let pipe = pipe.into();
    let lp = running_loop()?;
    let protocol = Rc::new(RefCell::new(factory()));
    let transport = WritePipeTransport::new(&lp, pipe, protocol.clone())?;
    connection_made(&lp, &transport).await;
    Ok((transport, protocol))
}
