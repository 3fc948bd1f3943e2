//! [`SocketTransport`]: the stream transport over a TCP or Unix stream socket (asyncio's
//! `_SelectorSocketTransport` and `_SelectorTransport`), run in the loop through
//! `add_reader`/`add_writer`: one `recv` per readable event straight to the protocol, `write`
//! tries the socket first, the rest drains with one vectored send per writable event.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::{Rc, Weak};

use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendAncillaryBuffer, SendFlags, Shutdown};
use tower_loop::EventLoop;

use crate::deliver::{CallError, FlowEvent, ProtocolSlot, report, report_panic};
use crate::error::{InvalidLimits, WriteError};
use crate::events::{SharedStreamEvents, StreamEvents};
use crate::extra::{ExtraKey, ExtraValue, SocketAddress};
use crate::flow::{FlowControl, Transition};
use crate::per_loop::{OnLoopClose, PerLoop, per_loop};
use crate::stream::StreamTransport;
use crate::traits::{BaseTransport, ReadTransport, WriteTransport};
use crate::write_buffer::{IOV_MAX, WriteBuffer};

/// asyncio's `LOG_THRESHOLD_FOR_CONNLOST_WRITES`: the write after the connection is lost that
/// is reported (once).
pub(crate) const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

/// A stream transport over a connected TCP or Unix stream socket (asyncio's
/// `_SelectorSocketTransport`). A cheap handle: clones are the same transport. `!Send`: it
/// lives on the loop that made it.
///
/// ```
/// use std::cell::RefCell;
/// use std::io::{self, Read};
/// use std::os::unix::net::UnixStream;
/// use std::rc::Rc;
/// use tower_loop::EventLoop;
/// use tower_transport::{SocketTransport, StreamEvents, StreamTransport, WriteTransport};
///
/// /// Says hello, then closes.
/// struct Hello;
/// impl StreamEvents for Hello {
///     fn connection_made(&mut self, t: StreamTransport) {
///         t.write(b"hello").unwrap();
///         tower_transport::BaseTransport::close(&t);
///     }
///     fn connection_lost(&mut self, _exc: Option<io::Error>) {
///         tower_loop::get_running_loop().unwrap().stop();
///     }
/// }
///
/// let lp = EventLoop::new().unwrap();
/// let (ours, mut theirs) = UnixStream::pair().unwrap();
/// let _t = SocketTransport::new(&lp, ours, Rc::new(RefCell::new(Hello))).unwrap();
/// lp.run_forever().unwrap();
/// let mut got = String::new();
/// theirs.read_to_string(&mut got).unwrap();
/// assert_eq!(got, "hello");
/// lp.close().unwrap();
/// ```
#[derive(Clone)]
pub struct SocketTransport(Rc<Inner>);

/// The transport's state. Every field is a `Cell` or a `RefCell` borrowed only for a
/// statement, never across a protocol call: a protocol may call back into its transport from
/// any callback.
struct Inner {
    /// The loop it runs on.
    lp: EventLoop,
    /// The loop's transport state (read buffer, open transports).
    per_loop: Rc<PerLoop>,
    /// The socket; `None` once `connection_lost` ran (it is closed then, as asyncio's).
    sock: RefCell<Option<OwnedFd>>,
    /// The protocol and its pending flow events.
    slot: ProtocolSlot<dyn StreamEvents>,
    /// Bytes the kernel has not taken.
    buffer: RefCell<WriteBuffer>,
    /// The water marks and whether the protocol is paused.
    flow: FlowControl,
    /// `close` or a fatal error ran: no more reading.
    closing: Cell<bool>,
    /// `write_eof` was called.
    eof: Cell<bool>,
    /// asyncio's `_conn_lost`: nonzero once `connection_lost` is due; counts ignored writes.
    conn_lost: Cell<u32>,
    /// `pause_reading` was called (asyncio's `_paused`).
    reading_paused: Cell<bool>,
    /// End of stream was read: never register the reader again.
    read_eof: Cell<bool>,
    /// Whether the loop has a reader callback for the socket.
    reader_on: Cell<bool>,
    /// Whether the loop has a writer callback for the socket.
    writer_on: Cell<bool>,
    /// `connection_made` was delivered.
    made: Cell<bool>,
    /// `connection_lost` was delivered (or given up on).
    lost: Cell<bool>,
    /// This transport's slot in the per-loop registry.
    index: Cell<usize>,
    /// The socket's own address, read at construction.
    sockname: Option<SocketAddress>,
    /// The peer's address, read on first use.
    peername: OnceCell<Option<SocketAddress>>,
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

fn transient(e: Errno) -> bool {
    e == Errno::AGAIN || e == Errno::WOULDBLOCK || e == Errno::INTR
}

impl SocketTransport {
    /// A transport over the connected stream socket `sock`, driving `protocol` on `lp`.
    /// Makes the socket non-blocking and, for TCP, sets `TCP_NODELAY`; schedules
    /// `connection_made`, then reading (asyncio's order).
    ///
    /// # Errors
    ///
    /// If `lp` is closed, or `sock` is not a socket.
    pub fn new(
        lp: &EventLoop,
        sock: impl Into<OwnedFd>,
        protocol: SharedStreamEvents,
    ) -> io::Result<SocketTransport> {
        let sock = sock.into();
        if lp.is_closed() {
            return Err(io::Error::other("the event loop is closed"));
        }
        rustix::io::ioctl_fionbio(&sock, true)?;
        let local = rustix::net::getsockname(&sock)?;
        let family = local.address_family();
        if family == AddressFamily::INET || family == AddressFamily::INET6 {
            // asyncio's `_set_nodelay`; not TCP (SCTP...) just refuses.
            let _ = rustix::net::sockopt::set_tcp_nodelay(&sock, true);
        }
        let per_loop = per_loop(lp);
        let inner = Rc::new(Inner {
            lp: lp.clone(),
            per_loop: per_loop.clone(),
            sock: RefCell::new(Some(sock)),
            slot: ProtocolSlot::new(protocol),
            buffer: RefCell::new(WriteBuffer::default()),
            flow: FlowControl::default(),
            closing: Cell::new(false),
            eof: Cell::new(false),
            conn_lost: Cell::new(0),
            reading_paused: Cell::new(false),
            read_eof: Cell::new(false),
            reader_on: Cell::new(false),
            writer_on: Cell::new(false),
            made: Cell::new(false),
            lost: Cell::new(false),
            index: Cell::new(usize::MAX),
            sockname: SocketAddress::from_any(&local),
            peername: OnceCell::new(),
        });
        let weak: Weak<dyn OnLoopClose> = Rc::downgrade(&inner) as Weak<Inner>;
        inner.index.set(per_loop.register(weak));
        let t = inner.clone();
        lp.call_soon(move || t.connection_made());
        let t = inner.clone();
        lp.call_soon(move || t.add_reader());
        Ok(SocketTransport(inner))
    }
}

impl Inner {
    /// Runs `f` on the socket (`NotConnected` once it is closed).
    fn with_fd<R>(&self, f: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>) -> io::Result<R> {
        match self.sock.borrow().as_ref() {
            Some(s) => f(s.as_fd()),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Schedules the flow-event flush (the protocol was borrowed by its owner).
    fn schedule_flush(self: &Rc<Self>) {
        let t = self.clone();
        self.lp.call_soon(move || {
            if t.slot.scheduled_flush(&t.lp) {
                t.schedule_flush();
            }
        });
    }

    /// Raises a flow transition.
    fn flow_event(self: &Rc<Self>, transition: Transition) {
        let event = match transition {
            Transition::None => return,
            Transition::Pause => FlowEvent::Pause,
            Transition::Resume => FlowEvent::Resume,
        };
        if self.slot.raise(&self.lp, event) {
            self.schedule_flush();
        }
    }

    /// Calls `f` on the protocol; schedules a flush if needed.
    fn call<R>(
        self: &Rc<Self>,
        f: impl FnOnce(&mut dyn StreamEvents) -> R,
    ) -> Result<R, CallError> {
        let (r, schedule) = self.slot.call(&self.lp, f);
        if schedule {
            self.schedule_flush();
        }
        r
    }

    /// Whether the transport reads (asyncio's `is_reading`).
    fn is_reading(&self) -> bool {
        !self.reading_paused.get() && !self.closing.get()
    }

    /// Registers the reader if the transport reads and it is not registered.
    fn add_reader(self: &Rc<Self>) {
        if self.reader_on.get() || !self.is_reading() || self.read_eof.get() {
            return;
        }
        let t = self.clone();
        let r = self.with_fd(|fd| self.lp.add_reader(fd, move || t.read_ready()));
        match r {
            Ok(()) => self.reader_on.set(true),
            Err(e) => self.fatal_error(e),
        }
    }

    /// Unregisters the reader.
    fn remove_reader(&self) {
        if self.reader_on.replace(false) {
            let _ = self.with_fd(|fd| self.lp.remove_reader(fd));
        }
    }

    /// Registers the writer (while data is buffered).
    fn add_writer(self: &Rc<Self>) {
        if self.writer_on.get() {
            return;
        }
        let t = self.clone();
        let r = self.with_fd(|fd| self.lp.add_writer(fd, move || t.write_ready()));
        match r {
            Ok(()) => self.writer_on.set(true),
            Err(e) => self.fatal_error(e),
        }
    }

    /// Unregisters the writer.
    fn remove_writer(&self) {
        if self.writer_on.replace(false) {
            let _ = self.with_fd(|fd| self.lp.remove_writer(fd));
        }
    }

    /// The scheduled `connection_made`.
    fn connection_made(self: &Rc<Self>) {
        if self.lost.get() {
            return;
        }
        self.made.set(true);
        let t = StreamTransport::Socket(SocketTransport(self.clone()));
        if let Err(CallError::Panicked(p)) = self.call(|p| p.connection_made(t)) {
            report_panic(&self.lp, "protocol.connection_made() failed", p);
        }
    }

    /// The reader callback: one `recv`, to the protocol.
    fn read_ready(self: &Rc<Self>) {
        if self.conn_lost.get() > 0 || self.slot.is_busy() {
            // Busy: the protocol's owner holds it borrowed; the level-triggered reader comes
            // back next iteration.
            return;
        }
        let per_loop = &self.per_loop;
        let r = self.call(|p| {
            if p.buffered() {
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
                let outcome = match self.recv(&mut buf) {
                    Ok(0) => ReadOutcome::Eof,
                    Ok(n) => {
                        p.data_received(&buf[..n]);
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
                report_panic(&self.lp, "protocol.data_received() call failed", p);
                self.fatal_error(io::Error::other("protocol.data_received() call failed"));
            }
        }
    }

    /// One `recv` into `buf`.
    fn recv(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self.sock.borrow().as_ref() {
            Some(s) => rustix::net::recv(s, buf, RecvFlags::empty()).map(|(n, _)| n),
            None => Err(Errno::NOTCONN),
        }
    }

    /// End of stream: `eof_received`, then half-close or close.
    fn on_eof(self: &Rc<Self>) {
        self.read_eof.set(true);
        match self.call(|p| p.eof_received()) {
            Ok(true) => self.remove_reader(),
            Ok(false) | Err(CallError::Gone | CallError::Busy) => self.close(),
            Err(CallError::Panicked(p)) => {
                report_panic(&self.lp, "protocol.eof_received() call failed", p);
                self.fatal_error(io::Error::other("protocol.eof_received() call failed"));
            }
        }
    }

    /// `write`.
    fn write(self: &Rc<Self>, data: &[u8]) -> Result<(), WriteError> {
        if self.eof.get() {
            return Err(WriteError::AfterWriteEof);
        }
        if data.is_empty() {
            return Ok(());
        }
        if self.conn_lost.get() > 0 {
            self.write_after_lost();
            return Ok(());
        }
        let mut data = data;
        if self.buffer.borrow().is_empty() {
            let sent = match self.sock.borrow().as_ref() {
                Some(s) => rustix::net::send(s, data, SendFlags::NOSIGNAL),
                None => Err(Errno::NOTCONN),
            };
            match sent {
                Ok(n) => {
                    data = &data[n..];
                    if data.is_empty() {
                        return Ok(());
                    }
                }
                Err(e) if transient(e) => {}
                Err(e) => {
                    self.fatal_error(io_err(e));
                    return Ok(());
                }
            }
            self.add_writer();
        }
        self.buffer.borrow_mut().push(data);
        self.maybe_pause();
        Ok(())
    }

    /// `writelines`: one vectored write.
    fn writelines(self: &Rc<Self>, pieces: &[&[u8]]) -> Result<(), WriteError> {
        if self.eof.get() {
            return Err(WriteError::AfterWriteEof);
        }
        if pieces.is_empty() {
            return Ok(());
        }
        if self.conn_lost.get() > 0 {
            self.write_after_lost();
            return Ok(());
        }
        if self.buffer.borrow().is_empty() {
            let iov: Vec<IoSlice<'_>> = pieces
                .iter()
                .filter(|p| !p.is_empty())
                .take(IOV_MAX)
                .map(|p| IoSlice::new(p))
                .collect();
            if iov.is_empty() {
                return Ok(());
            }
            let sent = self.sendmsg(&iov);
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
        if self.conn_lost.get() == LOG_THRESHOLD_FOR_CONNLOST_WRITES {
            report(
                &self.lp,
                "socket.send() raised exception: write() on a transport whose connection is lost (ignored)",
            );
        }
        self.conn_lost.set(self.conn_lost.get().saturating_add(1));
    }

    /// One vectored send of `iov`.
    fn sendmsg(&self, iov: &[IoSlice<'_>]) -> Result<usize, Errno> {
        match self.sock.borrow().as_ref() {
            Some(s) => rustix::net::sendmsg(
                s,
                iov,
                &mut SendAncillaryBuffer::default(),
                SendFlags::NOSIGNAL,
            ),
            None => Err(Errno::NOTCONN),
        }
    }

    /// asyncio's `_maybe_pause_protocol`.
    fn maybe_pause(self: &Rc<Self>) {
        let size = self.buffer.borrow().len();
        let t = self.flow.maybe_pause(size);
        self.flow_event(t);
    }

    /// The writer callback: one vectored send of the buffer.
    fn write_ready(self: &Rc<Self>) {
        if self.conn_lost.get() > 0 {
            return;
        }
        let sent = {
            let buffer = self.buffer.borrow();
            if buffer.is_empty() {
                None
            } else if buffer.chunk_count() == 1 {
                Some(match self.sock.borrow().as_ref() {
                    Some(s) => rustix::net::send(s, buffer.first(), SendFlags::NOSIGNAL),
                    None => Err(Errno::NOTCONN),
                })
            } else {
                let mut iov = Vec::with_capacity(buffer.chunk_count().min(IOV_MAX));
                buffer.slices(&mut iov);
                Some(self.sendmsg(&iov))
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
                self.remove_writer();
                self.buffer.borrow_mut().clear();
                self.fatal_error(io_err(e));
                return;
            }
        }
        if self.buffer.borrow().is_empty() {
            self.remove_writer();
            if self.closing.get() {
                if self.conn_lost.get() == 0 {
                    self.conn_lost.set(1);
                    self.call_connection_lost(None);
                }
            } else if self.eof.get() {
                let _ = self.with_fd(|fd| Ok(rustix::net::shutdown(fd, Shutdown::Write)?));
            }
        }
    }

    /// `close`.
    fn close(self: &Rc<Self>) {
        if self.closing.replace(true) {
            return;
        }
        self.remove_reader();
        if self.buffer.borrow().is_empty() {
            self.conn_lost.set(self.conn_lost.get() + 1);
            self.remove_writer();
            self.schedule_connection_lost(None);
        }
    }

    /// asyncio's `_fatal_error`: closes at once with `exc`.
    fn fatal_error(self: &Rc<Self>, exc: io::Error) {
        self.force_close(Some(exc));
    }

    /// asyncio's `_force_close` (`abort` is `force_close(None)`).
    fn force_close(self: &Rc<Self>, exc: Option<io::Error>) {
        if self.conn_lost.get() > 0 {
            return;
        }
        if !self.buffer.borrow().is_empty() {
            self.buffer.borrow_mut().clear();
            self.remove_writer();
        }
        if !self.closing.replace(true) {
            self.remove_reader();
        }
        self.conn_lost.set(self.conn_lost.get() + 1);
        self.schedule_connection_lost(exc);
    }

    /// Schedules `connection_lost(exc)` with `call_soon`.
    fn schedule_connection_lost(self: &Rc<Self>, exc: Option<io::Error>) {
        let t = self.clone();
        self.lp.call_soon(move || t.call_connection_lost(exc));
    }

    /// asyncio's `_call_connection_lost`: the protocol's last call, then the socket is closed
    /// and the protocol dropped.
    fn call_connection_lost(self: &Rc<Self>, exc: Option<io::Error>) {
        if self.lost.get() {
            return;
        }
        if self.made.get() {
            match self.slot.call(&self.lp, |p| p.connection_lost(exc)).0 {
                Err(CallError::Busy) if !self.lp.is_closed() => {
                    // The protocol's owner holds it: try again next iteration (the error, if
                    // any, cannot be cloned; it is reported as the kind alone).
                    let t = self.clone();
                    self.lp.call_soon(move || t.call_connection_lost(None));
                    return;
                }
                Err(CallError::Panicked(p)) => {
                    report_panic(&self.lp, "protocol.connection_lost() failed", p);
                }
                _ => {}
            }
        }
        self.finish();
    }

    /// After `connection_lost`: releases the registrations, the socket and the protocol.
    fn finish(&self) {
        self.lost.set(true);
        self.remove_reader();
        self.remove_writer();
        self.buffer.borrow_mut().clear();
        let sock = self.sock.borrow_mut().take();
        drop(sock);
        let protocol = self.slot.replace(None);
        drop(protocol);
        self.per_loop.unregister(self.index.get());
    }
}

impl OnLoopClose for Inner {
    fn loop_closed(self: Rc<Self>) {
        if self.lost.get() {
            return;
        }
        self.closing.set(true);
        self.conn_lost.set(self.conn_lost.get().max(1));
        if self.made.get() {
            if let (Err(CallError::Panicked(p)), _) =
                self.slot.call(&self.lp, |p| p.connection_lost(None))
            {
                report_panic(&self.lp, "protocol.connection_lost() failed", p);
            }
        }
        self.finish();
    }
}

impl fmt::Debug for SocketTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        f.debug_struct("SocketTransport")
            .field("fd", &i.sock.borrow().as_ref().map(|s| s.as_raw_fd()))
            .field("closing", &i.closing.get())
            .field("reading", &i.is_reading())
            .field("write_buffer", &i.buffer.borrow().len())
            .field("protocol_paused", &i.flow.is_paused())
            .field("slot", &i.slot)
            .finish()
    }
}

impl SocketTransport {
    /// Whether two handles are the same transport.
    pub fn ptr_eq(&self, other: &SocketTransport) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl BaseTransport for SocketTransport {
    type Protocol = dyn StreamEvents;

    fn close(&self) {
        self.0.close();
    }

    fn is_closing(&self) -> bool {
        self.0.closing.get()
    }

    fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue> {
        let i = &self.0;
        match key {
            ExtraKey::Sockname => i.sockname.clone().map(ExtraValue::Address),
            ExtraKey::Peername => {
                if let Some(p) = i.peername.get() {
                    return p.clone().map(ExtraValue::Address);
                }
                let peer = i
                    .with_fd(|fd| Ok(rustix::net::getpeername(fd)?))
                    .ok()?
                    .as_ref()
                    .and_then(SocketAddress::from_any);
                let _ = i.peername.set(peer.clone());
                peer.map(ExtraValue::Address)
            }
            ExtraKey::Socket => i
                .sock
                .borrow()
                .as_ref()
                .map(|s| ExtraValue::Fd(s.as_raw_fd())),
            _ => None,
        }
    }

    fn set_protocol(&self, protocol: SharedStreamEvents) {
        let old = self.0.slot.replace(Some(protocol));
        drop(old);
    }

    fn get_protocol(&self) -> Option<SharedStreamEvents> {
        self.0.slot.get()
    }
}

impl ReadTransport for SocketTransport {
    fn is_reading(&self) -> bool {
        self.0.is_reading()
    }

    fn pause_reading(&self) {
        if !self.0.is_reading() {
            return;
        }
        self.0.reading_paused.set(true);
        self.0.remove_reader();
    }

    fn resume_reading(&self) {
        if self.0.closing.get() || !self.0.reading_paused.get() {
            return;
        }
        self.0.reading_paused.set(false);
        if self.0.made.get() {
            self.0.add_reader();
        }
    }
}

impl WriteTransport for SocketTransport {
    fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        self.0.write(data)
    }

    fn writelines(&self, data: &[&[u8]]) -> Result<(), WriteError> {
        self.0.writelines(data)
    }

    fn write_eof(&self) {
        let i = &self.0;
        if i.closing.get() || i.eof.replace(true) {
            return;
        }
        if i.buffer.borrow().is_empty() {
            let _ = i.with_fd(|fd| Ok(rustix::net::shutdown(fd, Shutdown::Write)?));
        }
    }

    fn can_write_eof(&self) -> bool {
        true
    }

    fn abort(&self) {
        self.0.force_close(None);
    }

    fn get_write_buffer_size(&self) -> usize {
        self.0.buffer.borrow().len()
    }

    fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.0.flow.get()
    }

    fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits> {
        self.0.flow.set(high, low)?;
        self.0.maybe_pause();
        Ok(())
    }
}
