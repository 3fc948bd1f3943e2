//! [`ReadPipeTransport`] and [`WritePipeTransport`]: stream transports over the ends of a pipe
//! (asyncio's `_UnixReadPipeTransport`, `_UnixWritePipeTransport`; `connect_read_pipe`,
//! `connect_write_pipe` in tier 8), for example a child's stdout and stdin
//! ([`tower_loop::pipe`]). The logic is the shared `StreamCore`'s (`stream_core.rs`).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use rustix::fs::FileType;
use tower_loop::EventLoop;

use crate::events::SharedStreamEvents;
use crate::stream_core::{
    Kind, StreamCore, impl_read_transport, impl_stream_traits, impl_write_transport,
};

/// The read end of a pipe, a FIFO, a stream socket used one way, or a character device.
/// At end of stream it calls `eof_received` and closes (asyncio's: a pipe has no writing half
/// to keep open).
///
/// ```
/// use std::cell::RefCell;
/// use std::io::Write;
/// use std::rc::Rc;
/// use tower_loop::EventLoop;
/// use tower_transport::{ReadPipeTransport, StreamEvents};
///
/// #[derive(Default)]
/// struct Collect(Vec<u8>);
/// impl StreamEvents for Collect {
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.extend_from_slice(data);
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         tower_loop::get_running_loop().unwrap().stop();
///     }
/// }
///
/// let lp = EventLoop::new().unwrap();
/// let (read, write) = tower_loop::nonblocking_pipe().unwrap();
/// std::fs::File::from(write).write_all(b"through a pipe").unwrap(); // and closed
/// let proto = Rc::new(RefCell::new(Collect::default()));
/// let _t = ReadPipeTransport::new(&lp, read, proto.clone()).unwrap();
/// lp.run_forever().unwrap();
/// assert_eq!(proto.borrow().0, b"through a pipe");
/// lp.close().unwrap();
/// ```
#[derive(Clone)]
pub struct ReadPipeTransport(pub(crate) Rc<StreamCore>);

/// The write end of a pipe (or a FIFO, a stream socket used one way, a character device).
/// `write` tries the pipe first; `write_eof` closes it once the buffer drains. When the read
/// end closes, the transport closes (with `BrokenPipe` if data was still buffered).
#[derive(Clone)]
pub struct WritePipeTransport(pub(crate) Rc<StreamCore>);

/// What `fd` is, if it can be a pipe transport's: `(is a FIFO or socket, is a socket)`.
fn check(fd: impl AsFd) -> io::Result<bool> {
    let st = rustix::fs::fstat(&fd)?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Fifo | FileType::Socket => Ok(true),
        FileType::CharacterDevice => Ok(false),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "pipe transport is for pipes, FIFOs, sockets and character devices only",
        )),
    }
}

/// The checks and set-up both pipe transports share.
fn prepare(lp: &EventLoop, fd: &OwnedFd) -> io::Result<bool> {
    if lp.is_closed() {
        return Err(io::Error::other("the event loop is closed"));
    }
    let pollable_eof = check(fd)?;
    rustix::io::ioctl_fionbio(fd, true)?;
    Ok(pollable_eof)
}

impl ReadPipeTransport {
    /// A transport reading `pipe` (made non-blocking) into `protocol` on `lp`; schedules
    /// `connection_made`, then reading.
    ///
    /// # Errors
    ///
    /// If `lp` is closed, or `pipe` is not a pipe, FIFO, socket or character device.
    pub fn new(
        lp: &EventLoop,
        pipe: impl Into<OwnedFd>,
        protocol: SharedStreamEvents,
    ) -> io::Result<ReadPipeTransport> {
        let pipe = pipe.into();
        prepare(lp, &pipe)?;
        Ok(ReadPipeTransport(StreamCore::new(
            lp,
            pipe,
            protocol,
            Kind::ReadPipe,
            None,
            false,
        )))
    }
}

impl WritePipeTransport {
    /// A transport writing to `pipe` (made non-blocking) for `protocol` on `lp`; schedules
    /// `connection_made`, and for a pipe, FIFO or socket watches for the read end to close.
    ///
    /// # Errors
    ///
    /// If `lp` is closed, or `pipe` is not a pipe, FIFO, socket or character device.
    pub fn new(
        lp: &EventLoop,
        pipe: impl Into<OwnedFd>,
        protocol: SharedStreamEvents,
    ) -> io::Result<WritePipeTransport> {
        let pipe = pipe.into();
        let eof_reader = prepare(lp, &pipe)?;
        Ok(WritePipeTransport(StreamCore::new(
            lp,
            pipe,
            protocol,
            Kind::WritePipe,
            None,
            eof_reader,
        )))
    }
}

impl_stream_traits!(ReadPipeTransport, "ReadPipeTransport");
impl_read_transport!(ReadPipeTransport);
impl_stream_traits!(WritePipeTransport, "WritePipeTransport");
impl_write_transport!(WritePipeTransport);
