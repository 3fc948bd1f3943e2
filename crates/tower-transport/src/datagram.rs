//! [`DatagramSocketTransport`]: the datagram transport over a UDP or Unix datagram socket
//! (asyncio's `_SelectorDatagramTransport`): `sendto` sends at once and buffers only on
//! `EAGAIN`, send and receive errors go to `error_received`, the buffer has asyncio's flow
//! control (each datagram counted with an 8-byte header).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::{Rc, Weak};

use rustix::io::Errno;
use rustix::net::RecvFlags;
use tower_loop::EventLoop;

use crate::deliver::{CallError, FlowEvent, ProtocolSlot, report_panic};
use crate::error::{InvalidLimits, SendToError};
use crate::events::{DatagramEvents, SharedDatagramEvents};
use crate::extra::{ExtraKey, ExtraValue, SocketAddress};
use crate::flow::{FlowControl, Transition};
use crate::per_loop::{OnLoopClose, PerLoop, per_loop};
use crate::stream_core::{SEND_FLAGS, no_sigpipe};
use crate::traits::{BaseTransport, DatagramTransport, ReadTransport};

/// asyncio's `_header_size`: what each buffered datagram adds to the buffer size beyond its
/// bytes.
pub const DATAGRAM_HEADER_SIZE: usize = 8;

/// A datagram transport over a UDP or Unix datagram socket, connected or not (asyncio's
/// `_SelectorDatagramTransport`). A cheap handle; `!Send`.
///
/// ```
/// use std::cell::RefCell;
/// use std::os::unix::net::UnixDatagram;
/// use std::rc::Rc;
/// use tower_loop::EventLoop;
/// use tower_transport::{DatagramEvents, DatagramSocketTransport, DatagramTransport};
///
/// struct Ping;
/// impl DatagramEvents for Ping {
///     fn connection_made(&mut self, t: DatagramSocketTransport) {
///         t.sendto(b"ping", None).unwrap();
///         tower_loop::get_running_loop().unwrap().stop();
///     }
/// }
///
/// let lp = EventLoop::new().unwrap();
/// let (ours, theirs) = UnixDatagram::pair().unwrap();
/// let _t = DatagramSocketTransport::new(&lp, ours, Rc::new(RefCell::new(Ping))).unwrap();
/// lp.run_forever().unwrap();
/// let mut buf = [0; 8];
/// assert_eq!(theirs.recv(&mut buf).unwrap(), 4);
/// lp.close().unwrap();
/// ```
#[derive(Clone)]
pub struct DatagramSocketTransport(Rc<Inner>);

/// The transport's state (as the stream transport's: cells, no borrow across a protocol call).
struct Inner {
    /// The loop it runs on.
    lp: EventLoop,
    /// The loop's transport state.
    per_loop: Rc<PerLoop>,
    /// The socket; `None` once `connection_lost` ran.
    sock: RefCell<Option<OwnedFd>>,
    /// The protocol and its pending events.
    slot: ProtocolSlot<dyn DatagramEvents>,
    /// Datagrams not yet sent, with their destination (`None`: the connected peer).
    buffer: RefCell<VecDeque<(Vec<u8>, Option<SocketAddress>)>>,
    /// asyncio's `_buffer_size`: bytes + a header per datagram.
    buffer_size: Cell<usize>,
    /// The water marks.
    flow: FlowControl,
    /// `close` or a fatal error ran.
    closing: Cell<bool>,
    /// asyncio's `_conn_lost`.
    conn_lost: Cell<u32>,
    /// `pause_reading` was called.
    reading_paused: Cell<bool>,
    /// Whether the loop has a reader callback.
    reader_on: Cell<bool>,
    /// Whether the loop has a writer callback.
    writer_on: Cell<bool>,
    /// `connection_made` was delivered.
    made: Cell<bool>,
    /// `connection_lost` was delivered.
    lost: Cell<bool>,
    /// The per-loop registry slot.
    index: Cell<usize>,
    /// The socket's own address.
    sockname: Option<SocketAddress>,
    /// The connected peer, if the socket is connected (read at construction).
    peer: Option<SocketAddress>,
    /// The error of a scheduled `connection_lost`.
    lost_exc: RefCell<Option<io::Error>>,
}

fn transient(e: Errno) -> bool {
    e == Errno::AGAIN || e == Errno::WOULDBLOCK || e == Errno::INTR
}

impl DatagramSocketTransport {
    /// A transport over the datagram socket `sock` (connected or not), driving `protocol` on
    /// `lp`. Makes the socket non-blocking; schedules `connection_made`, then reading.
    ///
    /// # Errors
    ///
    /// If `lp` is closed, or `sock` is not a socket.
    pub fn new(
        lp: &EventLoop,
        sock: impl Into<OwnedFd>,
        protocol: SharedDatagramEvents,
    ) -> io::Result<DatagramSocketTransport> {
        let sock = sock.into();
        if lp.is_closed() {
            return Err(io::Error::other("the event loop is closed"));
        }
        rustix::io::ioctl_fionbio(&sock, true)?;
        no_sigpipe(&sock);
        let local = rustix::net::getsockname(&sock)?;
        let peer = match rustix::net::getpeername(&sock) {
            Ok(p) => p.as_ref().and_then(SocketAddress::from_any),
            Err(Errno::NOTCONN) => None,
            Err(e) => return Err(e.into()),
        };
        let per_loop = per_loop(lp);
        let inner = Rc::new(Inner {
            lp: lp.clone(),
            per_loop: per_loop.clone(),
            sock: RefCell::new(Some(sock)),
            slot: ProtocolSlot::new(protocol),
            buffer: RefCell::new(VecDeque::new()),
            buffer_size: Cell::new(0),
            flow: FlowControl::default(),
            closing: Cell::new(false),
            conn_lost: Cell::new(0),
            reading_paused: Cell::new(false),
            reader_on: Cell::new(false),
            writer_on: Cell::new(false),
            made: Cell::new(false),
            lost: Cell::new(false),
            index: Cell::new(usize::MAX),
            sockname: SocketAddress::from_any(&local),
            peer,
            lost_exc: RefCell::new(None),
        });
        let weak: Weak<dyn OnLoopClose> = Rc::downgrade(&inner) as Weak<Inner>;
        inner.index.set(per_loop.register(weak));
        let t = inner.clone();
        lp.call_soon(move || t.connection_made());
        Ok(DatagramSocketTransport(inner))
    }

    /// Bytes buffered, counting asyncio's 8-byte header per datagram.
    pub fn get_write_buffer_size(&self) -> usize {
        self.0.buffer_size.get()
    }

    /// `(low, high)`, the water marks.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.0.flow.get()
    }

    /// Sets the water marks as [`WriteTransport::set_write_buffer_limits`](crate::WriteTransport::set_write_buffer_limits).
    ///
    /// # Errors
    ///
    /// [`InvalidLimits`] unless high ≥ low.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits> {
        self.0.flow.set(high, low)?;
        self.0.maybe_pause();
        Ok(())
    }
}

impl Inner {
    /// Runs `f` on the socket.
    fn with_fd<R>(&self, f: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>) -> io::Result<R> {
        match self.sock.borrow().as_ref() {
            Some(s) => f(s.as_fd()),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Schedules the pending-event flush.
    fn schedule_flush(self: &Rc<Self>) {
        let t = self.clone();
        self.lp.call_soon(move || {
            if t.slot.scheduled_flush(&t.lp) {
                t.schedule_flush();
            }
        });
    }

    /// Raises an event for the protocol (now, or when its running callback returns).
    fn raise(self: &Rc<Self>, event: FlowEvent) {
        if self.slot.raise(&self.lp, event) {
            self.schedule_flush();
        }
    }

    /// asyncio's `_maybe_pause_protocol`.
    fn maybe_pause(self: &Rc<Self>) {
        if self.flow.maybe_pause(self.buffer_size.get()) == Transition::Pause {
            self.raise(FlowEvent::Pause);
        }
    }

    /// Registers the reader.
    fn add_reader(self: &Rc<Self>) {
        if self.reader_on.get() || self.closing.get() || self.reading_paused.get() {
            return;
        }
        let t = self.clone();
        match self.with_fd(|fd| self.lp.add_reader(fd, move || t.read_ready())) {
            Ok(()) => self.reader_on.set(true),
            Err(e) => self.force_close(Some(e)),
        }
    }

    /// Unregisters the reader.
    fn remove_reader(&self) {
        if self.reader_on.replace(false) {
            let _ = self.with_fd(|fd| self.lp.remove_reader(fd));
        }
    }

    /// Registers the writer.
    fn add_writer(self: &Rc<Self>) {
        if self.writer_on.get() {
            return;
        }
        let t = self.clone();
        match self.with_fd(|fd| self.lp.add_writer(fd, move || t.sendto_ready())) {
            Ok(()) => self.writer_on.set(true),
            Err(e) => self.force_close(Some(e)),
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
        if self.slot.is_busy() {
            let t = self.clone();
            self.lp.call_soon(move || t.connection_made());
            return;
        }
        self.made.set(true);
        let t = DatagramSocketTransport(self.clone());
        let (r, schedule) = self.slot.call(&self.lp, |p| p.connection_made(t));
        if schedule {
            self.schedule_flush();
        }
        if let Err(CallError::Panicked(p)) = r {
            report_panic(&self.lp, "protocol.connection_made() failed", p);
        }
        self.add_reader();
    }

    /// The reader callback: one `recvfrom`, to the protocol.
    fn read_ready(self: &Rc<Self>) {
        if self.conn_lost.get() > 0 || self.slot.is_busy() {
            return;
        }
        let mut buf = self.per_loop.take_read_buf();
        let got = match self.sock.borrow().as_ref() {
            Some(s) => rustix::net::recvfrom(s, &mut buf[..], RecvFlags::empty()),
            None => Err(Errno::NOTCONN),
        };
        let (r, schedule) = match got {
            Ok((n, _, addr)) => {
                let addr = addr.as_ref().and_then(SocketAddress::from_any);
                self.slot
                    .call(&self.lp, |p| p.datagram_received(&buf[..n], addr))
            }
            Err(e) if transient(e) => (Ok(()), false),
            Err(e) => self
                .slot
                .call(&self.lp, |p| p.error_received(io::Error::from(e))),
        };
        self.per_loop.put_read_buf(buf);
        if schedule {
            self.schedule_flush();
        }
        if let Err(CallError::Panicked(p)) = r {
            report_panic(&self.lp, "protocol.datagram_received() call failed", p);
            self.force_close(Some(io::Error::other(
                "protocol.datagram_received() call failed",
            )));
        }
    }

    /// Sends one datagram now.
    fn send_one(&self, data: &[u8], addr: Option<&SocketAddress>) -> Result<usize, Errno> {
        let sock = self.sock.borrow();
        let Some(s) = sock.as_ref() else {
            return Err(Errno::NOTCONN);
        };
        if self.peer.is_some() {
            return rustix::net::send(s, data, SEND_FLAGS);
        }
        match addr.and_then(SocketAddress::to_any) {
            Some(a) => rustix::net::sendto(s, data, SEND_FLAGS, &a),
            None => Err(Errno::DESTADDRREQ),
        }
    }

    /// `sendto`.
    fn sendto(
        self: &Rc<Self>,
        data: &[u8],
        addr: Option<&SocketAddress>,
    ) -> Result<(), SendToError> {
        let addr = match (&self.peer, addr) {
            (Some(peer), Some(a)) if a != peer => {
                return Err(SendToError::InvalidAddress {
                    connected: peer.clone(),
                });
            }
            (Some(_), _) => None,
            (None, None) => return Err(SendToError::NoAddress),
            (None, Some(SocketAddress::UnixUnnamed)) => return Err(SendToError::NoAddress),
            (None, Some(a)) => Some(a),
        };
        if self.conn_lost.get() > 0 {
            if self.conn_lost.get() == crate::stream_core::LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                crate::deliver::report(
                    &self.lp,
                    "socket.sendto() raised exception: sendto() on a closed transport (ignored)",
                );
            }
            self.conn_lost.set(self.conn_lost.get().saturating_add(1));
            return Ok(());
        }
        if self.buffer.borrow().is_empty() {
            match self.send_one(data, addr) {
                Ok(_) => return Ok(()),
                Err(e) if transient(e) => self.add_writer(),
                Err(e) => {
                    self.raise(FlowEvent::Error(io::Error::from(e)));
                    return Ok(());
                }
            }
        }
        self.buffer
            .borrow_mut()
            .push_back((data.to_vec(), addr.cloned()));
        self.buffer_size
            .set(self.buffer_size.get() + data.len() + DATAGRAM_HEADER_SIZE);
        self.maybe_pause();
        Ok(())
    }

    /// The writer callback: sends buffered datagrams until the kernel refuses one.
    fn sendto_ready(self: &Rc<Self>) {
        loop {
            let Some((data, addr)) = self.buffer.borrow_mut().pop_front() else {
                break;
            };
            self.buffer_size
                .set(self.buffer_size.get() - data.len() - DATAGRAM_HEADER_SIZE);
            match self.send_one(&data, addr.as_ref()) {
                Ok(_) => {}
                Err(e) if transient(e) => {
                    self.buffer_size
                        .set(self.buffer_size.get() + data.len() + DATAGRAM_HEADER_SIZE);
                    self.buffer.borrow_mut().push_front((data, addr));
                    break;
                }
                Err(e) => {
                    self.raise(FlowEvent::Error(io::Error::from(e)));
                    return;
                }
            }
        }
        if self.flow.maybe_resume(self.buffer_size.get()) == Transition::Resume {
            self.raise(FlowEvent::Resume);
        }
        if self.buffer.borrow().is_empty() {
            self.remove_writer();
            if self.closing.get() && self.conn_lost.get() == 0 {
                self.conn_lost.set(1);
                self.call_connection_lost(None);
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

    /// asyncio's `_force_close`.
    fn force_close(self: &Rc<Self>, exc: Option<io::Error>) {
        if self.conn_lost.get() > 0 {
            return;
        }
        if !self.buffer.borrow().is_empty() {
            self.buffer.borrow_mut().clear();
            self.buffer_size.set(0);
            self.remove_writer();
        }
        if !self.closing.replace(true) {
            self.remove_reader();
        }
        self.conn_lost.set(self.conn_lost.get() + 1);
        self.schedule_connection_lost(exc);
    }

    /// Schedules `connection_lost(exc)`.
    /// The error waits in `lost_exc`, where a closing loop finds it too.
    fn schedule_connection_lost(self: &Rc<Self>, exc: Option<io::Error>) {
        *self.lost_exc.borrow_mut() = exc;
        let t = self.clone();
        self.lp.call_soon(move || {
            let exc = t.lost_exc.borrow_mut().take();
            t.call_connection_lost(exc);
        });
    }

    /// The protocol's last call, then the socket is closed and the protocol dropped.
    fn call_connection_lost(self: &Rc<Self>, exc: Option<io::Error>) {
        if self.lost.get() {
            return;
        }
        if self.made.get() {
            if self.slot.is_busy() && !self.lp.is_closed() {
                // The protocol's owner holds it borrowed: try again next iteration.
                let t = self.clone();
                self.lp.call_soon(move || t.call_connection_lost(exc));
                return;
            }
            // The error waits in `lost_exc` until the protocol takes it, so a retry (or a
            // closing loop) still has it if the protocol is found borrowed.
            *self.lost_exc.borrow_mut() = exc;
            let called = self.slot.call(&self.lp, |p| {
                let exc = self.lost_exc.borrow_mut().take();
                p.connection_lost(exc)
            });
            match called.0 {
                Err(CallError::Busy) if !self.lp.is_closed() => {
                    let t = self.clone();
                    self.lp.call_soon(move || {
                        let exc = t.lost_exc.borrow_mut().take();
                        t.call_connection_lost(exc);
                    });
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

    /// Releases the registrations, the socket and the protocol.
    fn finish(&self) {
        self.lost.set(true);
        self.remove_reader();
        self.remove_writer();
        self.buffer.borrow_mut().clear();
        self.buffer_size.set(0);
        let sock = self.sock.borrow_mut().take();
        drop(sock);
        let protocol = self.slot.replace(None);
        drop(protocol);
        // The slot may be reused at once: forget it, so `drop` frees nothing twice.
        self.per_loop.unregister(self.index.replace(usize::MAX));
    }
}

impl OnLoopClose for Inner {
    fn loop_closed(self: Rc<Self>) {
        if self.lost.get() {
            return;
        }
        self.closing.set(true);
        self.conn_lost.set(self.conn_lost.get().max(1));
        let exc = self.lost_exc.borrow_mut().take();
        if self.made.get() {
            if let (Err(CallError::Panicked(p)), _) =
                self.slot.call(&self.lp, |p| p.connection_lost(exc))
            {
                report_panic(&self.lp, "protocol.connection_lost() failed", p);
            }
        }
        self.finish();
    }
}

impl fmt::Debug for DatagramSocketTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        f.debug_struct("DatagramSocketTransport")
            .field("fd", &i.sock.borrow().as_ref().map(|s| s.as_raw_fd()))
            .field("peer", &i.peer)
            .field("closing", &i.closing.get())
            .field("buffered", &i.buffer.borrow().len())
            .field("buffer_size", &i.buffer_size.get())
            .field("slot", &i.slot)
            .finish()
    }
}

impl BaseTransport for DatagramSocketTransport {
    type Protocol = dyn DatagramEvents;

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
            ExtraKey::Peername => i.peer.clone().map(ExtraValue::Address),
            ExtraKey::Socket => i
                .sock
                .borrow()
                .as_ref()
                .map(|s| ExtraValue::Fd(s.as_raw_fd())),
            _ => None,
        }
    }

    fn set_protocol(&self, protocol: SharedDatagramEvents) {
        let old = self.0.slot.replace(Some(protocol));
        drop(old);
    }

    fn get_protocol(&self) -> Option<SharedDatagramEvents> {
        self.0.slot.get()
    }
}

impl DatagramTransport for DatagramSocketTransport {
    fn sendto(&self, data: &[u8], addr: Option<&SocketAddress>) -> Result<(), SendToError> {
        self.0.sendto(data, addr)
    }

    fn abort(&self) {
        self.0.force_close(None);
    }
}

impl Drop for Inner {
    /// A transport nothing holds any more (its handles, protocol and registrations all gone)
    /// leaves the loop's registry; its fd closes with it.
    fn drop(&mut self) {
        self.per_loop.unregister(self.index.get());
    }
}

/// asyncio's selector datagram transport can pause reading too (`_SelectorTransport`).
impl ReadTransport for DatagramSocketTransport {
    fn is_reading(&self) -> bool {
        !self.0.reading_paused.get() && !self.0.closing.get()
    }

    fn pause_reading(&self) {
        if !self.is_reading() {
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
