//! The state and the logic every stream transport shares (asyncio's `_SelectorTransport`,
//! `_SelectorSocketTransport`, `_UnixReadPipeTransport`, `_UnixWritePipeTransport`): reading
//! on readiness straight to the protocol, `write` trying the fd first, the buffer drained with
//! one vectored write per writable event, flow control (closing is `lifecycle.rs`). [`SocketTransport`],
//! [`ReadPipeTransport`] and [`WritePipeTransport`] are handles to a [`StreamCore`].
//!
//! [`SocketTransport`]: crate::SocketTransport
//! [`ReadPipeTransport`]: crate::ReadPipeTransport
//! [`WritePipeTransport`]: crate::WritePipeTransport

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::BorrowedFd;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::task::Waker;

use rustix::io::Errno;
use rustix::net::{RecvFlags, SendAncillaryBuffer, SendFlags, Shutdown};
use tower_loop::EventLoop;

use crate::deliver::{CallError, FlowEvent, report_panic};
use crate::error::{InvalidLimits, WriteError};
use crate::events::{SharedStreamEvents, StreamEvents};
use crate::extra::{ExtraKey, ExtraValue, SocketAddress};
use crate::flow::{FlowControl, Transition};
use crate::lifecycle::{DetachListener, Life, Lifecycle, register, transient};
use crate::stream::StreamTransport;
use crate::write_buffer::{WriteBuffer, gather};

/// A refusal of protocol writes ([`StreamCore`]'s `refusals`): a read pipe has no writing half.
const NO_WRITING_HALF: u8 = 1;
/// A refusal of protocol writes: `write_eof` was called.
const WRITE_EOF: u8 = 2;
/// A refusal of protocol writes: a `sendfile` runs.
const SENDFILE: u8 = 4;

/// The flags of every socket send: no `SIGPIPE` when the peer is gone (`MSG_NOSIGNAL`; Apple's
/// systems have no such flag, and get `SO_NOSIGPIPE` on the socket instead, [`no_sigpipe`]).
#[cfg(not(target_vendor = "apple"))]
pub(crate) const SEND_FLAGS: SendFlags = SendFlags::NOSIGNAL;
/// The flags of every socket send (Apple: none; the socket has `SO_NOSIGPIPE`).
#[cfg(target_vendor = "apple")]
pub(crate) const SEND_FLAGS: SendFlags = SendFlags::empty();

/// Asks the socket not to raise `SIGPIPE` where sends cannot (Apple's `SO_NOSIGPIPE`); nothing
/// elsewhere.
pub(crate) fn no_sigpipe(sock: &OwnedFd) {
    #[cfg(target_vendor = "apple")]
    let _ = rustix::net::sockopt::set_socket_nosigpipe(sock, true);
    let _ = sock;
}

/// Which stream transport a core is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A connected stream socket: reads and writes (`recv`, `send`, `sendmsg`, `shutdown`).
    Socket,
    /// The read end of a pipe (or a FIFO, a character device): reads only (`read`).
    ReadPipe,
    /// The write end of a pipe: writes only (`write`, `writev`); its reader only watches for
    /// the read end closing.
    WritePipe,
}

/// The transport's state. Every field is a `Cell` or a `RefCell` borrowed only for a
/// statement, never across a protocol call: a protocol may call back into its transport from
/// any callback.
pub(crate) struct StreamCore {
    /// Which transport this is.
    kind: Kind,
    /// A write pipe watches its fd for the read end closing (pipes and sockets, not
    /// character devices).
    eof_reader: bool,
    /// The loop, the fd, the protocol and the lifecycle flags (`lifecycle.rs`).
    life: Life<dyn StreamEvents>,
    /// Bytes the kernel has not taken.
    buffer: RefCell<WriteBuffer>,
    /// The water marks and whether the protocol is paused.
    flow: FlowControl,
    /// Why protocol writes are refused, as bits ([`NO_WRITING_HALF`], [`WRITE_EOF`],
    /// [`SENDFILE`]); zero while writes are accepted. `eof` and "a `sendfile` runs" are kept
    /// only here, so `write`'s hot path tests one value and nothing is recomputed.
    refusals: Cell<u8>,
    /// End of stream was read: never register the reader again.
    read_eof: Cell<bool>,
    /// The socket's own address, read at construction.
    sockname: Option<SocketAddress>,
    /// The peer's address, read on first use.
    peername: OnceCell<Option<SocketAddress>>,
    /// The running `sendfile`'s waker: woken when the buffer drains or the fd is writable
    /// (while it runs, the writer callback only wakes it), and when the connection is lost.
    waiter: Cell<Option<Waker>>,
    /// The server that accepted the connection and this connection's key there, told once
    /// when the transport is done ([`DetachListener`]); `None` for every other transport.
    detach: Cell<Option<(Rc<dyn DetachListener>, usize)>>,
}

/// What one read did.
enum ReadOutcome {
    /// Bytes went to the protocol.
    Data,
    /// End of stream.
    Eof,
    /// The read failed.
    Failed(Errno),
    /// A buffered protocol gave an empty buffer.
    EmptyBuffer,
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from(e)
}

impl StreamCore {
    /// A core over `fd`, registered with the loop's open transports; schedules
    /// `connection_made`, then reading (asyncio's order).
    pub(crate) fn new(
        lp: &EventLoop,
        fd: OwnedFd,
        protocol: SharedStreamEvents,
        kind: Kind,
        sockname: Option<SocketAddress>,
        eof_reader: bool,
    ) -> Rc<StreamCore> {
        let core = Rc::new(StreamCore {
            kind,
            eof_reader,
            life: Life::new(lp, fd, protocol),
            buffer: RefCell::new(WriteBuffer::default()),
            flow: FlowControl::default(),
            refusals: Cell::new(if kind == Kind::ReadPipe {
                NO_WRITING_HALF
            } else {
                0
            }),
            read_eof: Cell::new(false),
            sockname,
            peername: OnceCell::new(),
            waiter: Cell::new(None),
            detach: Cell::new(None),
        });
        register(&core);
        let t = core.clone();
        lp.call_soon(move || t.connection_made());
        core
    }

    /// Links the transport to the server that accepted it (before `connection_made` runs).
    pub(crate) fn set_detach(&self, server: Rc<dyn DetachListener>, key: usize) {
        self.detach.set(Some((server, key)));
    }

    /// The handle a protocol is given.
    pub(crate) fn handle(self: &Rc<Self>) -> StreamTransport {
        match self.kind {
            Kind::Socket => StreamTransport::Socket(crate::SocketTransport(self.clone())),
            Kind::ReadPipe => StreamTransport::ReadPipe(crate::ReadPipeTransport(self.clone())),
            Kind::WritePipe => StreamTransport::WritePipe(crate::WritePipeTransport(self.clone())),
        }
    }

    /// Raises a flow transition.
    fn flow_event(self: &Rc<Self>, transition: Transition) {
        let event = match transition {
            Transition::None => return,
            Transition::Pause => FlowEvent::Pause,
            Transition::Resume => FlowEvent::Resume,
        };
        self.raise(event);
    }

    /// Calls `f` on the protocol; schedules a flush if needed.
    fn call<R>(
        self: &Rc<Self>,
        f: impl FnOnce(&mut dyn StreamEvents) -> R,
    ) -> Result<R, CallError> {
        let (r, schedule) = self.life.slot.call(&self.life.lp, f);
        if schedule {
            self.schedule_flush();
        }
        r
    }

    /// Whether the transport reads (asyncio's `is_reading`; never for a write pipe).
    pub(crate) fn is_reading(&self) -> bool {
        self.kind != Kind::WritePipe && !self.life.reading_paused.get() && !self.life.closing.get()
    }

    /// Whether the reader should be registered: the transport reads, or it is a write pipe
    /// watching for its read end to close.
    fn wants_reader(&self) -> bool {
        match self.kind {
            Kind::WritePipe => self.eof_reader && !self.life.closing.get(),
            _ => self.is_reading() && !self.read_eof.get(),
        }
    }

    /// Registers the reader if the transport reads and it is not registered.
    fn add_reader(self: &Rc<Self>) {
        if self.life.reader_on.get() || !self.wants_reader() {
            return;
        }
        let t = self.clone();
        if let Err(e) = self.life.add_reader(move || t.read_ready()) {
            self.fatal_error(e);
        }
    }

    /// Registers the writer (while data is buffered).
    fn add_writer(self: &Rc<Self>) {
        if self.life.writer_on.get() {
            return;
        }
        let t = self.clone();
        if let Err(e) = self.life.add_writer(move || t.write_ready()) {
            self.fatal_error(e);
        }
    }

    /// The reader callback: one `recv`, to the protocol.
    fn read_ready(self: &Rc<Self>) {
        if self.kind == Kind::WritePipe {
            // asyncio's `_UnixWritePipeTransport._read_ready`: the read end closed.
            if self.buffer.borrow().is_empty() {
                self.close();
            } else {
                self.fatal_error(io::ErrorKind::BrokenPipe.into());
            }
            return;
        }
        if self.life.conn_lost.get() > 0 {
            return;
        }
        // The read happens inside the protocol's borrow: if its owner holds it borrowed,
        // nothing is read (`Busy`) and the level-triggered reader comes back next iteration.
        let per_loop = &self.life.per_loop;
        let r = self.call(|p| {
            if p.buffered() {
                if let Some(buf) = p.get_buffer_uninit(0) {
                    if buf.is_empty() {
                        return ReadOutcome::EmptyBuffer;
                    }
                    return match self.recv_uninit(buf) {
                        Ok(0) => ReadOutcome::Eof,
                        Ok(n) => {
                            // SAFETY: `recv_uninit` initialised the first `n` bytes of the
                            // slice `get_buffer_uninit` returned, and nothing else was called
                            // on `p` since.
                            unsafe { p.buffer_updated_uninit(n) };
                            ReadOutcome::Data
                        }
                        Err(e) => ReadOutcome::Failed(e),
                    };
                }
                let buf = p.get_buffer(0);
                if buf.is_empty() {
                    return ReadOutcome::EmptyBuffer;
                }
                match self.recv(buf) {
                    Ok(0) => ReadOutcome::Eof,
                    Ok(n) => {
                        p.buffer_updated(n);
                        ReadOutcome::Data
                    }
                    Err(e) => ReadOutcome::Failed(e),
                }
            } else {
                let mut buf = per_loop.take_read_buf();
                let area = buf.area();
                let outcome = match self.recv(area) {
                    Ok(0) => ReadOutcome::Eof,
                    Ok(n) => {
                        p.data_received(&area[..n]);
                        ReadOutcome::Data
                    }
                    Err(e) => ReadOutcome::Failed(e),
                };
                per_loop.put_read_buf(buf);
                outcome
            }
        });
        match r {
            Ok(ReadOutcome::Data) | Err(CallError::Busy | CallError::Gone) => {}
            Ok(ReadOutcome::Eof) => self.on_eof(),
            Ok(ReadOutcome::Failed(e)) if transient(e) => {}
            Ok(ReadOutcome::Failed(e)) => self.fatal_error(io_err(e)),
            Ok(ReadOutcome::EmptyBuffer) => {
                self.fatal_error(io::Error::other("get_buffer() returned an empty buffer"))
            }
            Err(CallError::Panicked(p)) => {
                report_panic(&self.life.lp, "protocol.data_received() call failed", p);
                self.fatal_error(io::Error::other("protocol.data_received() call failed"));
            }
        }
    }

    /// One `recv` (`read` for a pipe) into uninitialised `buf`: how many bytes it initialised
    /// at its start.
    fn recv_uninit(&self, buf: &mut [std::mem::MaybeUninit<u8>]) -> Result<usize, Errno> {
        match (self.life.sock.borrow().as_ref(), self.kind) {
            (Some(s), Kind::Socket) => {
                rustix::net::recv(s, buf, RecvFlags::empty()).map(|((init, _), _)| init.len())
            }
            (Some(s), _) => rustix::io::read(s, buf).map(|(init, _)| init.len()),
            (None, _) => Err(Errno::NOTCONN),
        }
    }

    /// One `recv` (`read` for a pipe) into `buf`.
    fn recv(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match (self.life.sock.borrow().as_ref(), self.kind) {
            (Some(s), Kind::Socket) => {
                rustix::net::recv(s, buf, RecvFlags::empty()).map(|(n, _)| n)
            }
            (Some(s), _) => rustix::io::read(s, buf),
            (None, _) => Err(Errno::NOTCONN),
        }
    }

    /// One `send` (`write` for a pipe) of `data`.
    fn send(&self, data: &[u8]) -> Result<usize, Errno> {
        match (self.life.sock.borrow().as_ref(), self.kind) {
            (Some(s), Kind::Socket) => rustix::net::send(s, data, SEND_FLAGS),
            (Some(s), _) => rustix::io::write(s, data),
            (None, _) => Err(Errno::NOTCONN),
        }
    }

    /// End of stream: `eof_received`, then half-close or close.
    fn on_eof(self: &Rc<Self>) {
        self.read_eof.set(true);
        match self.call(|p| p.eof_received()) {
            // A read pipe closes at end of stream whatever the protocol says (asyncio's).
            Ok(true) if self.kind == Kind::Socket => self.life.remove_reader(),
            Ok(true) => self.close(),
            Ok(false) | Err(CallError::Gone | CallError::Busy) => self.close(),
            Err(CallError::Panicked(p)) => {
                report_panic(&self.life.lp, "protocol.eof_received() call failed", p);
                self.fatal_error(io::Error::other("protocol.eof_received() call failed"));
            }
        }
    }

    /// `write`.
    pub(crate) fn write(self: &Rc<Self>, data: &[u8]) -> Result<(), WriteError> {
        if self.refusals.get() != 0 {
            return Err(self.refusal());
        }
        self.write_unchecked(data);
        Ok(())
    }

    /// Why protocol writes are refused (asyncio's order: no writing half, then a running
    /// `sendfile`).
    #[cold]
    #[inline(never)]
    fn refusal(&self) -> WriteError {
        if self.kind == Kind::ReadPipe {
            WriteError::NotWritable
        } else if self.eof() {
            WriteError::AfterWriteEof
        } else {
            WriteError::SendfileInProgress
        }
    }

    /// `write_eof` was called.
    fn eof(&self) -> bool {
        self.refusals.get() & WRITE_EOF != 0
    }

    /// A `sendfile` runs (`sendfile.rs`): protocol writes are refused, `close` and `write_eof`
    /// wait for it as for buffered data.
    fn sendfile_active(&self) -> bool {
        self.refusals.get() & SENDFILE != 0
    }

    /// Sets or clears the refusal `bit`; returns whether it was set before.
    fn set_refusal(&self, bit: u8, on: bool) -> bool {
        let old = self.refusals.get();
        self.refusals.set(if on { old | bit } else { old & !bit });
        old & bit != 0
    }

    /// `write` without the checks (`sendfile`'s fallback writes through it): sends at once
    /// if nothing is buffered, buffers the rest.
    pub(crate) fn write_unchecked(self: &Rc<Self>, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.life.conn_lost.get() > 0 {
            self.write_after_lost();
            return;
        }
        let mut data = data;
        if self.buffer.borrow().is_empty() {
            let sent = self.send(data);
            match sent {
                Ok(n) => {
                    data = &data[n..];
                    if data.is_empty() {
                        return;
                    }
                }
                Err(e) if transient(e) => {}
                Err(e) => {
                    self.fatal_error(io_err(e));
                    return;
                }
            }
            self.add_writer();
        }
        self.buffer.borrow_mut().push(data);
        self.maybe_pause();
    }

    /// `writelines`: one vectored write.
    pub(crate) fn writelines(self: &Rc<Self>, pieces: &[&[u8]]) -> Result<(), WriteError> {
        if self.refusals.get() != 0 {
            return Err(self.refusal());
        }
        if pieces.is_empty() {
            return Ok(());
        }
        if self.life.conn_lost.get() > 0 {
            self.write_after_lost();
            return Ok(());
        }
        if self.buffer.borrow().is_empty() {
            let sent = gather(pieces.iter().copied(), |iov| {
                if iov.is_empty() {
                    None
                } else {
                    Some(self.sendmsg(iov))
                }
            });
            let Some(sent) = sent else {
                return Ok(());
            };
            let mut skip = match sent {
                Ok(n) => n,
                Err(e) if transient(e) => 0,
                Err(e) => {
                    self.fatal_error(io_err(e));
                    return Ok(());
                }
            };
            {
                let mut buffer = self.buffer.borrow_mut();
                for p in pieces {
                    if skip >= p.len() {
                        skip -= p.len();
                    } else {
                        buffer.push(&p[skip..]);
                        skip = 0;
                    }
                }
            }
            if !self.buffer.borrow().is_empty() {
                self.add_writer();
            }
        } else {
            {
                let mut buffer = self.buffer.borrow_mut();
                for p in pieces {
                    buffer.push(p);
                }
            }
            // asyncio's `_write_ready()` call: try one drain at once.
            self.write_ready();
        }
        self.maybe_pause();
        Ok(())
    }

    /// A write after the connection is lost: ignored, reported once at asyncio's threshold.
    fn write_after_lost(&self) {
        let what = match self.kind {
            Kind::Socket => {
                "socket.send() raised exception: write() on a transport whose connection is lost (ignored)"
            }
            _ => {
                "pipe closed by peer or os.write(pipe, data) raised exception: write() on a transport whose connection is lost (ignored)"
            }
        };
        self.life.ignored_write(what);
    }

    /// One vectored send of `iov` (`writev` for a pipe).
    fn sendmsg(&self, iov: &[IoSlice<'_>]) -> Result<usize, Errno> {
        match (self.life.sock.borrow().as_ref(), self.kind) {
            (Some(s), Kind::Socket) => {
                rustix::net::sendmsg(s, iov, &mut SendAncillaryBuffer::default(), SEND_FLAGS)
            }
            (Some(s), _) => rustix::io::writev(s, iov),
            (None, _) => Err(Errno::NOTCONN),
        }
    }

    /// asyncio's `_maybe_pause_protocol`.
    pub(crate) fn maybe_pause(self: &Rc<Self>) {
        let size = self.buffer.borrow().len();
        let t = self.flow.maybe_pause(size);
        self.flow_event(t);
    }

    /// The writer callback: one vectored send of the buffer.
    fn write_ready(self: &Rc<Self>) {
        if self.life.conn_lost.get() > 0 {
            return;
        }
        let sent = {
            let buffer = self.buffer.borrow();
            if buffer.is_empty() {
                None
            } else if buffer.chunk_count() == 1 {
                Some(self.send(buffer.first()))
            } else {
                Some(gather(buffer.pieces(), |iov| self.sendmsg(iov)))
            }
        };
        match sent {
            None => {}
            Some(Ok(n)) => {
                self.buffer.borrow_mut().consume(n);
                let size = self.buffer.borrow().len();
                let t = self.flow.maybe_resume(size);
                self.flow_event(t);
            }
            Some(Err(e)) if transient(e) => return,
            Some(Err(e)) => {
                self.life.remove_writer();
                self.buffer.borrow_mut().clear();
                self.fatal_error(io_err(e));
                return;
            }
        }
        if self.buffer.borrow().is_empty() {
            self.life.remove_writer();
            if self.sendfile_active() {
                // The buffer drained, or the fd is writable, for a running `sendfile`: it
                // finishes a pending `close` or `write_eof` when it ends.
                self.wake_waiters();
            } else {
                self.after_drain();
            }
        }
    }

    /// The buffer is empty and no `sendfile` runs: a pending `close` completes, a pending
    /// `write_eof` shuts the writing half.
    fn after_drain(self: &Rc<Self>) {
        if self.life.closing.get() {
            self.drained();
        } else if self.eof() {
            let _ = self
                .life
                .with_fd(|fd| Ok(rustix::net::shutdown(fd, Shutdown::Write)?));
        }
    }

    /// A `sendfile` starts: protocol writes are refused from now on. `false` if one runs.
    pub(crate) fn begin_sendfile(&self) -> bool {
        !self.set_refusal(SENDFILE, true)
    }

    /// The running `sendfile` waits for the buffer to drain, the fd to be writable
    /// (`want_writable`) or the connection to be lost.
    pub(crate) fn wait_sendfile(self: &Rc<Self>, waker: &Waker, want_writable: bool) {
        self.waiter.set(Some(waker.clone()));
        if want_writable || !self.buffer.borrow().is_empty() {
            self.add_writer();
        }
    }

    /// Runs `f` on the fd (`NotConnected` once it is closed): socket options.
    pub(crate) fn with_fd<R>(
        &self,
        f: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>,
    ) -> io::Result<R> {
        self.life.with_fd(f)
    }

    /// The loop the transport runs on.
    pub(crate) fn event_loop(&self) -> &EventLoop {
        &self.life.lp
    }

    /// Whether the write buffer is empty (`sendfile` waits for that).
    pub(crate) fn buffer_drained(&self) -> bool {
        self.buffer.borrow().is_empty()
    }

    /// The `sendfile` ended (done, failed or dropped): writes are accepted again, and what
    /// waited for it (a `close`, a `write_eof`) happens once the buffer is empty.
    pub(crate) fn end_sendfile(self: &Rc<Self>) {
        if !self.set_refusal(SENDFILE, false) {
            return;
        }
        drop(self.waiter.take());
        if self.buffer.borrow().is_empty() && self.life.conn_lost.get() == 0 {
            self.life.remove_writer();
            self.after_drain();
        }
    }

    /// Runs `f` on the fd for `sendfile(2)`; an error once the connection is lost (or due).
    pub(crate) fn sendfile_fd<R>(
        &self,
        f: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>,
    ) -> io::Result<R> {
        if self.life.conn_lost.get() > 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the transport closed during sendfile",
            ));
        }
        self.life.with_fd(f)
    }

    /// `close` ([`Lifecycle::close`]).
    pub(crate) fn close(self: &Rc<Self>) {
        Lifecycle::close(self);
    }

    /// `abort` and fatal errors ([`Lifecycle::force_close`]).
    pub(crate) fn force_close(self: &Rc<Self>, exc: Option<io::Error>) {
        Lifecycle::force_close(self, exc);
    }

    /// asyncio's `_fatal_error`: closes at once with `exc`.
    fn fatal_error(self: &Rc<Self>, exc: io::Error) {
        self.force_close(Some(exc));
    }
}

impl Lifecycle for StreamCore {
    type Protocol = dyn StreamEvents;

    fn life(&self) -> &Life<dyn StreamEvents> {
        &self.life
    }

    /// A running `sendfile` counts as buffered data: `close` waits for it.
    fn buffer_is_empty(&self) -> bool {
        self.buffer.borrow().is_empty() && !self.sendfile_active()
    }

    fn clear_buffer(&self) {
        self.buffer.borrow_mut().clear();
    }

    fn wake_waiters(&self) {
        if let Some(w) = self.waiter.take() {
            w.wake();
        }
    }

    fn deliver_made(self: &Rc<Self>, protocol: &mut dyn StreamEvents) {
        protocol.connection_made(self.handle());
    }

    fn start_reading(self: &Rc<Self>) {
        self.add_reader();
    }

    fn detach(&self) {
        if let Some((server, key)) = self.detach.take() {
            server.detach(key);
        }
    }
}

/// The transport traits' methods, shared by the handles ([`crate::SocketTransport`],
/// [`crate::ReadPipeTransport`], [`crate::WritePipeTransport`], [`StreamTransport`]).
impl StreamCore {
    /// `is_closing`.
    pub(crate) fn is_closing(&self) -> bool {
        self.life.closing.get()
    }

    /// `get_extra_info`.
    pub(crate) fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue> {
        let fd = || self.life.raw_fd().map(ExtraValue::Fd);
        match (key, self.kind) {
            (ExtraKey::Sockname, Kind::Socket) => self.sockname.clone().map(ExtraValue::Address),
            (ExtraKey::Peername, Kind::Socket) => {
                if let Some(p) = self.peername.get() {
                    return p.clone().map(ExtraValue::Address);
                }
                let peer = self
                    .life
                    .with_fd(|fd| Ok(rustix::net::getpeername(fd)?))
                    .ok()?
                    .as_ref()
                    .and_then(SocketAddress::from_any);
                let _ = self.peername.set(peer.clone());
                peer.map(ExtraValue::Address)
            }
            (ExtraKey::Socket, Kind::Socket) => fd(),
            (ExtraKey::Pipe, Kind::ReadPipe | Kind::WritePipe) => fd(),
            _ => None,
        }
    }

    /// `set_protocol`.
    pub(crate) fn set_protocol(&self, protocol: SharedStreamEvents) {
        let old = self.life.slot.replace(Some(protocol));
        drop(old);
    }

    /// `get_protocol`.
    pub(crate) fn get_protocol(&self) -> Option<SharedStreamEvents> {
        self.life.slot.get()
    }

    /// `pause_reading`.
    pub(crate) fn pause_reading(&self) {
        if !self.is_reading() {
            return;
        }
        self.life.reading_paused.set(true);
        self.life.remove_reader();
    }

    /// `resume_reading`.
    pub(crate) fn resume_reading(self: &Rc<Self>) {
        if self.kind == Kind::WritePipe
            || self.life.closing.get()
            || !self.life.reading_paused.get()
        {
            return;
        }
        self.life.reading_paused.set(false);
        if self.life.made.get() {
            self.add_reader();
        }
    }

    /// `write_eof`: a socket shuts its writing half once the buffer drains; a write pipe
    /// closes (asyncio's); a read pipe has no writing half.
    pub(crate) fn write_eof(self: &Rc<Self>) {
        match self.kind {
            Kind::ReadPipe => {}
            Kind::WritePipe => {
                if !self.life.closing.get() {
                    self.set_refusal(WRITE_EOF, true);
                    self.close();
                }
            }
            Kind::Socket => {
                if self.life.closing.get() || self.set_refusal(WRITE_EOF, true) {
                    return;
                }
                // A running `sendfile` shuts it when it ends.
                if self.buffer.borrow().is_empty() && !self.sendfile_active() {
                    let _ = self
                        .life
                        .with_fd(|fd| Ok(rustix::net::shutdown(fd, Shutdown::Write)?));
                }
            }
        }
    }

    /// `can_write_eof`.
    pub(crate) fn can_write_eof(&self) -> bool {
        self.kind != Kind::ReadPipe
    }

    /// `get_write_buffer_size`.
    pub(crate) fn get_write_buffer_size(&self) -> usize {
        self.buffer.borrow().len()
    }

    /// `get_write_buffer_limits`.
    pub(crate) fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.flow.get()
    }

    /// `set_write_buffer_limits`.
    pub(crate) fn set_write_buffer_limits(
        self: &Rc<Self>,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits> {
        self.flow.set(high, low)?;
        self.maybe_pause();
        Ok(())
    }

    /// The `Debug` output of a handle named `name`.
    pub(crate) fn fmt_fields(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("fd", &self.life.raw_fd())
            .field("closing", &self.life.closing.get())
            .field("reading", &self.is_reading())
            .field("write_buffer", &self.buffer.borrow().len())
            .field("protocol_paused", &self.flow.is_paused())
            .field("slot", &self.life.slot)
            .finish()
    }
}

/// Implements the transport traits for a handle type `$t` (a newtype of `Rc<StreamCore>`).
macro_rules! impl_stream_traits {
    ($t:ty, $name:literal) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt_fields($name, f)
            }
        }

        impl $crate::BaseTransport for $t {
            type Protocol = dyn $crate::StreamEvents;

            fn close(&self) {
                self.0.close();
            }
            fn is_closing(&self) -> bool {
                self.0.is_closing()
            }
            fn extra_info(
                &self,
                key: $crate::extra::ExtraKey,
            ) -> Option<$crate::extra::ExtraValue> {
                self.0.extra_info(key)
            }
            fn set_protocol(&self, protocol: $crate::SharedStreamEvents) {
                self.0.set_protocol(protocol);
            }
            fn get_protocol(&self) -> Option<$crate::SharedStreamEvents> {
                self.0.get_protocol()
            }
        }
    };
}

/// Implements [`ReadTransport`](crate::ReadTransport) for a handle type.
macro_rules! impl_read_transport {
    ($t:ty) => {
        impl $crate::ReadTransport for $t {
            fn is_reading(&self) -> bool {
                self.0.is_reading()
            }
            fn pause_reading(&self) {
                self.0.pause_reading();
            }
            fn resume_reading(&self) {
                self.0.resume_reading();
            }
        }
    };
}

/// Implements [`WriteTransport`](crate::WriteTransport) for a handle type.
macro_rules! impl_write_transport {
    ($t:ty) => {
        impl $crate::WriteTransport for $t {
            fn write(&self, data: &[u8]) -> Result<(), $crate::WriteError> {
                self.0.write(data)
            }
            fn writelines(&self, data: &[&[u8]]) -> Result<(), $crate::WriteError> {
                self.0.writelines(data)
            }
            fn write_eof(&self) {
                self.0.write_eof();
            }
            fn can_write_eof(&self) -> bool {
                self.0.can_write_eof()
            }
            fn abort(&self) {
                self.0.force_close(None);
            }
            fn get_write_buffer_size(&self) -> usize {
                self.0.get_write_buffer_size()
            }
            fn get_write_buffer_limits(&self) -> (usize, usize) {
                self.0.get_write_buffer_limits()
            }
            fn set_write_buffer_limits(
                &self,
                high: Option<usize>,
                low: Option<usize>,
            ) -> Result<(), $crate::InvalidLimits> {
                self.0.set_write_buffer_limits(high, low)
            }
        }
    };
}

pub(crate) use {impl_read_transport, impl_stream_traits, impl_write_transport};
