//! [`DatagramSocketTransport`]: the datagram transport over a UDP or Unix datagram socket
//! (asyncio's `_SelectorDatagramTransport`): `sendto` sends at once and buffers only on
//! `EAGAIN`, send and receive errors go to `error_received`, the buffer has asyncio's flow
//! control (each datagram counted with an 8-byte header).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use rustix::io::Errno;
use rustix::net::RecvFlags;
use tower_loop::EventLoop;

use crate::datagram_batch::{BatchState, Batching, Received};
use crate::datagram_queue::DatagramQueue;
use crate::deliver::{CallError, FlowEvent, report_panic};
use crate::error::{InvalidLimits, SendToError};
use crate::events::{DatagramEvents, SharedDatagramEvents};
use crate::extra::{ExtraKey, ExtraValue, SocketAddress};
use crate::flow::{FlowControl, Transition};
use crate::lifecycle::{Life, Lifecycle, prepare_socket, register, transient};
use crate::stream_core::SEND_FLAGS;
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
    /// The loop, the socket, the protocol and the lifecycle flags (`lifecycle.rs`).
    life: Life<dyn DatagramEvents>,
    /// Datagrams not yet sent, with their destination (`None`: the connected peer), and
    /// asyncio's `_buffer_size` (bytes + a header per datagram).
    buffer: RefCell<DatagramQueue>,
    /// The water marks.
    flow: FlowControl,
    /// The socket's own address.
    sockname: Option<SocketAddress>,
    /// The default destination (asyncio's `_address`): the connected peer if the socket is
    /// connected (read at construction), else the address given to
    /// [`DatagramSocketTransport::with_default_address`], if any. `sendto` accepts no other.
    peer: Option<SocketAddress>,
    /// The socket is connected to `peer` (sends use `send`; else `sendto` to `peer`).
    connected: bool,
    /// Batching, when on (`set_batching`; `datagram_batch.rs`).
    batch: RefCell<Option<Rc<BatchState>>>,
    /// A batched flush of the datagrams queued this iteration is scheduled.
    flush_queued: Cell<bool>,
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
        Self::build(lp, sock.into(), protocol, None)
    }

    /// As [`new`](Self::new), with `address` as the default destination of an unconnected
    /// socket (asyncio's datagram transport built with `address`: what
    /// `create_datagram_endpoint` does with `remote_addr` and `allow_broadcast`, where the
    /// socket stays unconnected to be able to send to a broadcast address).
    /// `sendto(data, None)` sends to `address`; `sendto` to any other address is
    /// [`SendToError::InvalidAddress`], as on a connected transport. Datagrams from any sender
    /// are received. `get_extra_info(Peername)` is `None` (the socket has no peer), unless the
    /// socket is connected, when the connected peer is the default destination.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_default_address(
        lp: &EventLoop,
        sock: impl Into<OwnedFd>,
        protocol: SharedDatagramEvents,
        address: SocketAddress,
    ) -> io::Result<DatagramSocketTransport> {
        Self::build(lp, sock.into(), protocol, Some(address))
    }

    /// The transport over `sock`, sending to `default` when given no address and the socket
    /// is not connected.
    fn build(
        lp: &EventLoop,
        sock: OwnedFd,
        protocol: SharedDatagramEvents,
        default: Option<SocketAddress>,
    ) -> io::Result<DatagramSocketTransport> {
        let local = prepare_socket(lp, &sock, false)?;
        let connected_peer = match rustix::net::getpeername(&sock) {
            Ok(p) => p.as_ref().and_then(SocketAddress::from_any),
            Err(Errno::NOTCONN) => None,
            Err(e) => return Err(e.into()),
        };
        let connected = connected_peer.is_some();
        let inner = Rc::new(Inner {
            life: Life::new(lp, sock, protocol),
            buffer: RefCell::new(DatagramQueue::default()),
            flow: FlowControl::default(),
            sockname: SocketAddress::from_any(&local),
            peer: connected_peer.or(default),
            connected,
            batch: RefCell::new(None),
            flush_queued: Cell::new(false),
        });
        register(&inner);
        let t = inner.clone();
        lp.call_soon(move || t.connection_made());
        Ok(DatagramSocketTransport(inner))
    }

    /// Bytes buffered, counting asyncio's 8-byte header per datagram.
    pub fn get_write_buffer_size(&self) -> usize {
        self.0.buffer.borrow().size()
    }

    /// `(low, high)`, the water marks.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.0.flow.get()
    }

    /// Turns batching on (`Some`) or off (`None`; the default): with it, each readiness reads
    /// up to [`Batching::max_datagrams`] datagrams with one `recvmmsg`, and `sendto` queues
    /// its datagram for one `sendmmsg` at the end of the loop iteration (or, for a run of
    /// equal-size datagrams to one address, one UDP GSO `sendmsg`), instead of one system call
    /// per datagram. GSO and GRO are used where the kernel has them (probed here; see
    /// [`batching`](Self::batching)), silently not elsewhere.
    ///
    /// What changes for the protocol: `sendto` never sends inside the call (the datagram is in
    /// `get_write_buffer_size` until the iteration's flush, and flow control counts it); a
    /// send error reaches `error_received` from the flush; a batch already read is delivered
    /// whole even if the protocol pauses reading during it (`close` stops it); a datagram
    /// larger than [`Batching::slot_size`] is dropped and reported to `error_received`
    /// ([`DatagramTruncated`](crate::datagram_batch::DatagramTruncated)).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a `max_datagrams` outside 1 to 1024 or a zero `slot_size`;
    /// `Unsupported` off Linux; `NotConnected` once closed.
    pub fn set_batching(&self, batching: Option<Batching>) -> io::Result<()> {
        let i = &self.0;
        let new = match batching {
            Some(cfg) => Some(Rc::new(i.life.with_fd(|fd| BatchState::new(fd, cfg))?)),
            None => None,
        };
        let old = std::mem::replace(&mut *i.batch.borrow_mut(), new);
        if let Some(old) = old {
            let keep_gro = i.batch.borrow().as_ref().is_some_and(|b| b.cfg.gro);
            if !keep_gro {
                let _ = i.life.with_fd(|fd| {
                    old.undo(fd);
                    Ok(())
                });
            }
        }
        Ok(())
    }

    /// The batching in force (`None`: off), with `gso`/`gro` as the kernel granted them.
    pub fn batching(&self) -> Option<Batching> {
        self.0.batch.borrow().as_ref().map(|b| {
            let mut cfg = b.cfg;
            cfg.gso = b.gso_in_use();
            cfg
        })
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
    /// asyncio's `_maybe_pause_protocol`.
    fn maybe_pause(self: &Rc<Self>) {
        if self.flow.maybe_pause(self.buffer.borrow().size()) == Transition::Pause {
            self.raise(FlowEvent::Pause);
        }
    }

    /// Registers the reader (unless paused or closing).
    fn add_reader(self: &Rc<Self>) {
        if self.life.closing.get() || self.life.reading_paused.get() {
            return;
        }
        let t = self.clone();
        if let Err(e) = self.life.add_reader(move || t.read_ready()) {
            self.force_close(Some(e));
        }
    }

    /// Registers the writer.
    fn add_writer(self: &Rc<Self>) {
        let t = self.clone();
        if let Err(e) = self.life.add_writer(move || t.sendto_ready()) {
            self.force_close(Some(e));
        }
    }

    /// The reader callback: one `recvfrom` (or, batching, one `recvmmsg`), to the protocol.
    fn read_ready(self: &Rc<Self>) {
        if self.life.conn_lost.get() > 0 || self.life.slot.is_busy() {
            return;
        }
        let batch = self.batch.borrow().clone();
        if let Some(batch) = batch {
            return self.read_batch(&batch);
        }
        let mut buf = self.life.per_loop.take_read_buf();
        let area = buf.area();
        let got = match self.life.sock.borrow().as_ref() {
            Some(s) => rustix::net::recvfrom(s, &mut *area, RecvFlags::empty()),
            None => Err(Errno::NOTCONN),
        };
        let (r, schedule) = match got {
            Ok((n, _, addr)) => {
                let addr = addr.as_ref().and_then(SocketAddress::from_any);
                self.life
                    .slot
                    .call(&self.life.lp, |p| p.datagram_received(&area[..n], addr))
            }
            Err(e) if transient(e) => (Ok(()), false),
            Err(e) => self
                .life
                .slot
                .call(&self.life.lp, |p| p.error_received(io::Error::from(e))),
        };
        self.life.per_loop.put_read_buf(buf);
        self.delivered(r, schedule);
    }

    /// After a delivery: the flow-event flush if one is due; a panic reported and fatal.
    /// Returns whether the transport is still open to deliveries.
    fn delivered(self: &Rc<Self>, r: Result<(), CallError>, schedule: bool) -> bool {
        if schedule {
            self.schedule_flush();
        }
        if let Err(CallError::Panicked(p)) = r {
            report_panic(&self.life.lp, "protocol.datagram_received() call failed", p);
            self.force_close(Some(io::Error::other(
                "protocol.datagram_received() call failed",
            )));
            return false;
        }
        true
    }

    /// One `recvmmsg`; each datagram to the protocol, in order, until the transport closes.
    fn read_batch(self: &Rc<Self>, batch: &BatchState) {
        let got = match self.life.sock.borrow().as_ref() {
            Some(s) => batch.recv(s.as_fd()),
            None => Err(Errno::NOTCONN),
        };
        let count = match got {
            Ok(n) => n,
            Err(e) if transient(e) => return,
            Err(e) => {
                self.raise(FlowEvent::Error(io::Error::from(e)));
                return;
            }
        };
        batch.deliver(count, |received| {
            if self.life.closing.get() {
                return false;
            }
            let (r, schedule) = match received {
                Received::Datagram(data, addr) => self
                    .life
                    .slot
                    .call(&self.life.lp, |p| p.datagram_received(data, addr)),
                Received::Truncated(t) => self.life.slot.call(&self.life.lp, |p| {
                    p.error_received(io::Error::new(io::ErrorKind::InvalidData, t))
                }),
            };
            self.delivered(r, schedule)
        });
    }

    /// Sends one datagram now.
    fn send_one(&self, data: &[u8], addr: Option<&SocketAddress>) -> Result<usize, Errno> {
        let sock = self.life.sock.borrow();
        let Some(s) = sock.as_ref() else {
            return Err(Errno::NOTCONN);
        };
        if self.connected {
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
            (Some(_), _) if self.connected => None,
            (Some(peer), _) => Some(peer),
            (None, None) => return Err(SendToError::NoAddress),
            (None, Some(SocketAddress::UnixUnnamed)) => return Err(SendToError::NoAddress),
            (None, Some(a)) => Some(a),
        };
        if self.life.conn_lost.get() > 0 {
            self.life.ignored_write(
                "socket.sendto() raised exception: sendto() on a closed transport (ignored)",
            );
            return Ok(());
        }
        if self.batch.borrow().is_some() {
            // Batching: queued for the iteration's flush (or the writer, if it waits).
            if !self.life.writer_on.get() && !self.flush_queued.replace(true) {
                let t = self.clone();
                self.life.lp.call_soon(move || {
                    t.flush_queued.set(false);
                    t.sendto_ready();
                });
            }
        } else if self.buffer.borrow().is_empty() {
            match self.send_one(data, addr) {
                Ok(_) => return Ok(()),
                Err(e) if transient(e) => self.add_writer(),
                Err(e) => {
                    self.raise(FlowEvent::Error(io::Error::from(e)));
                    return Ok(());
                }
            }
        }
        self.buffer.borrow_mut().push(data, addr);
        self.maybe_pause();
        Ok(())
    }

    /// The writer callback: sends buffered datagrams until the kernel refuses one.
    fn sendto_ready(self: &Rc<Self>) {
        let batch = self.batch.borrow().clone();
        if let Some(batch) = batch {
            if !self.send_batches(&batch) {
                // The kernel would block: the writer waits; the drain so far may resume.
                if self.flow.maybe_resume(self.buffer.borrow().size()) == Transition::Resume {
                    self.raise(FlowEvent::Resume);
                }
                return;
            }
        }
        while !self.buffer.borrow().is_empty() {
            let sent = {
                let buffer = self.buffer.borrow();
                let (data, addr) = buffer.front().expect("not empty");
                self.send_one(data, addr)
            };
            match sent {
                Ok(_) => self.buffer.borrow_mut().consume(1),
                Err(e) if transient(e) => break,
                Err(e) => {
                    self.buffer.borrow_mut().consume(1);
                    self.raise(FlowEvent::Error(io::Error::from(e)));
                    return;
                }
            }
        }
        if self.flow.maybe_resume(self.buffer.borrow().size()) == Transition::Resume {
            self.raise(FlowEvent::Resume);
        }
        if self.buffer.borrow().is_empty() {
            self.life.remove_writer();
            self.drained();
        }
    }

    /// Sends the queue in batches (`sendmmsg`, GSO runs) until it is empty (`true`) or the
    /// kernel would block (`false`, the writer registered). A datagram the kernel refuses
    /// goes to `error_received` and the rest are still sent.
    fn send_batches(self: &Rc<Self>, batch: &BatchState) -> bool {
        loop {
            if self.buffer.borrow().is_empty() {
                return true;
            }
            let sent = match self.life.sock.borrow().as_ref() {
                Some(s) => batch.send(s.as_fd(), &self.buffer.borrow()),
                None => return true,
            };
            let (n, error) = match sent {
                Ok(n) => (n, None),
                Err(Errno::INTR) => continue,
                Err(e) if transient(e) => {
                    self.add_writer();
                    return false;
                }
                Err(e) => (1, Some(e)),
            };
            self.buffer.borrow_mut().consume(n);
            if let Some(e) = error {
                self.raise(FlowEvent::Error(io::Error::from(e)));
                if self.life.conn_lost.get() > 0 {
                    return true;
                }
            }
        }
    }
}

impl Lifecycle for Inner {
    type Protocol = dyn DatagramEvents;

    fn life(&self) -> &Life<dyn DatagramEvents> {
        &self.life
    }

    fn buffer_is_empty(&self) -> bool {
        self.buffer.borrow().is_empty()
    }

    fn clear_buffer(&self) {
        self.buffer.borrow_mut().clear();
    }

    fn deliver_made(self: &Rc<Self>, protocol: &mut dyn DatagramEvents) {
        protocol.connection_made(DatagramSocketTransport(self.clone()));
    }

    fn start_reading(self: &Rc<Self>) {
        self.add_reader();
    }
}

impl fmt::Debug for DatagramSocketTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        f.debug_struct("DatagramSocketTransport")
            .field("fd", &i.life.raw_fd())
            .field("peer", &i.peer)
            .field("connected", &i.connected)
            .field("closing", &i.life.closing.get())
            .field("buffered", &i.buffer.borrow().len())
            .field("buffer_size", &i.buffer.borrow().size())
            .field("batching", &self.batching())
            .field("slot", &i.life.slot)
            .finish()
    }
}

impl BaseTransport for DatagramSocketTransport {
    type Protocol = dyn DatagramEvents;

    fn close(&self) {
        self.0.close();
    }

    fn is_closing(&self) -> bool {
        self.0.life.closing.get()
    }

    fn extra_info(&self, key: ExtraKey) -> Option<ExtraValue> {
        let i = &self.0;
        match key {
            ExtraKey::Sockname => i.sockname.clone().map(ExtraValue::Address),
            ExtraKey::Peername => i
                .peer
                .clone()
                .filter(|_| i.connected)
                .map(ExtraValue::Address),
            ExtraKey::Socket => i.life.raw_fd().map(ExtraValue::Fd),
            _ => None,
        }
    }

    fn set_protocol(&self, protocol: SharedDatagramEvents) {
        let old = self.0.life.slot.replace(Some(protocol));
        drop(old);
    }

    fn get_protocol(&self) -> Option<SharedDatagramEvents> {
        self.0.life.slot.get()
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

/// asyncio's selector datagram transport can pause reading too (`_SelectorTransport`).
impl ReadTransport for DatagramSocketTransport {
    fn is_reading(&self) -> bool {
        !self.0.life.reading_paused.get() && !self.0.life.closing.get()
    }

    fn pause_reading(&self) {
        if !self.is_reading() {
            return;
        }
        self.0.life.reading_paused.set(true);
        self.0.life.remove_reader();
    }

    fn resume_reading(&self) {
        if self.0.life.closing.get() || !self.0.life.reading_paused.get() {
            return;
        }
        self.0.life.reading_paused.set(false);
        if self.0.life.made.get() {
            self.0.add_reader();
        }
    }
}
