//! The state and the closing sequence every transport shares (asyncio's `_SelectorTransport`:
//! `close`, `_force_close`, `_call_connection_lost`, plus the loop-close hook): [`Life`] holds
//! the fd, the protocol and the lifecycle flags; [`Lifecycle`] closes once, calls
//! `connection_lost` exactly once (retrying while the protocol is borrowed, the error kept),
//! then releases the fd, the registrations and the protocol. The stream and datagram
//! transports each supply their buffer and nothing else.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::{Rc, Weak};

use rustix::io::Errno;
use rustix::net::SocketAddrAny;
use tower_loop::EventLoop;

use crate::deliver::{CallError, FlowEvent, ProtocolSlot, report_panic};
use crate::events::{DatagramEvents, FlowTarget, StreamEvents};
use crate::per_loop::{OnLoopClose, PerLoop, per_loop};

/// asyncio's `LOG_THRESHOLD_FOR_CONNLOST_WRITES`: the write after the connection is lost that
/// is reported (once).
const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

/// What a server gives the transports of the connections it accepted, to learn when each is
/// done (asyncio's `Server._detach`, which `_SelectorTransport._call_connection_lost` calls
/// when the transport was built with a `server`). See
/// [`SocketTransport::accepted`](crate::SocketTransport::accepted).
///
/// [`detach`](Self::detach) runs once per transport, right after the protocol's
/// `connection_lost` (the socket closed and the protocol dropped by then), or when the
/// transport finishes without one (the loop closed before `connection_made`). The protocol
/// may be replaced with `set_protocol` in between: the hook belongs to the transport.
pub trait DetachListener {
    /// The transport built with `key` is done.
    fn detach(&self, key: usize);
}

/// The last call of both event interfaces, for the shared closing sequence.
pub(crate) trait LostTarget {
    /// `connection_lost`.
    fn lost(&mut self, exc: Option<io::Error>);
}

impl LostTarget for dyn StreamEvents {
    fn lost(&mut self, exc: Option<io::Error>) {
        self.connection_lost(exc);
    }
}

impl LostTarget for dyn DatagramEvents {
    fn lost(&mut self, exc: Option<io::Error>) {
        self.connection_lost(exc);
    }
}

/// What every transport keeps: its loop, fd, protocol, registrations and lifecycle flags.
/// Every field is a `Cell` or a `RefCell` borrowed only for a statement, never across a
/// protocol call.
pub(crate) struct Life<P: ?Sized> {
    /// The loop it runs on.
    pub(crate) lp: EventLoop,
    /// The loop's transport state (read buffer, open transports).
    pub(crate) per_loop: Rc<PerLoop>,
    /// The socket (or pipe end); `None` once `connection_lost` ran (it is closed then, as
    /// asyncio's).
    pub(crate) sock: RefCell<Option<OwnedFd>>,
    /// The protocol and its pending events.
    pub(crate) slot: ProtocolSlot<P>,
    /// `close` or a fatal error ran: no more reading.
    pub(crate) closing: Cell<bool>,
    /// asyncio's `_conn_lost`: nonzero once `connection_lost` is due; counts ignored writes.
    pub(crate) conn_lost: Cell<u32>,
    /// `pause_reading` was called (asyncio's `_paused`).
    pub(crate) reading_paused: Cell<bool>,
    /// Whether the loop has a reader callback for the fd.
    pub(crate) reader_on: Cell<bool>,
    /// Whether the loop has a writer callback for the fd.
    pub(crate) writer_on: Cell<bool>,
    /// `connection_made` was delivered.
    pub(crate) made: Cell<bool>,
    /// `connection_lost` was delivered (or given up on).
    pub(crate) lost: Cell<bool>,
    /// This transport's slot in the per-loop registry.
    pub(crate) index: Cell<usize>,
    /// The error of a scheduled (or retried) `connection_lost`, until the protocol takes it.
    pub(crate) lost_exc: RefCell<Option<io::Error>>,
}

impl<P: ?Sized + FlowTarget> Life<P> {
    /// The state of a transport over `fd` driving `protocol` on `lp` (not registered yet:
    /// [`register`] does that once the transport is in its `Rc`).
    pub(crate) fn new(lp: &EventLoop, fd: OwnedFd, protocol: Rc<RefCell<P>>) -> Life<P> {
        Life {
            lp: lp.clone(),
            per_loop: per_loop(lp),
            sock: RefCell::new(Some(fd)),
            slot: ProtocolSlot::new(protocol),
            closing: Cell::new(false),
            conn_lost: Cell::new(0),
            reading_paused: Cell::new(false),
            reader_on: Cell::new(false),
            writer_on: Cell::new(false),
            made: Cell::new(false),
            lost: Cell::new(false),
            index: Cell::new(usize::MAX),
            lost_exc: RefCell::new(None),
        }
    }
}

impl<P: ?Sized> Life<P> {
    /// A write after the connection is lost: ignored and counted; the write at asyncio's
    /// `LOG_THRESHOLD_FOR_CONNLOST_WRITES` is reported (once) with `message`.
    pub(crate) fn ignored_write(&self, message: &str) {
        if self.conn_lost.get() == LOG_THRESHOLD_FOR_CONNLOST_WRITES {
            crate::deliver::report(&self.lp, message);
        }
        self.conn_lost.set(self.conn_lost.get().saturating_add(1));
    }

    /// Runs `f` on the fd (`NotConnected` once it is closed).
    pub(crate) fn with_fd<R>(
        &self,
        f: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>,
    ) -> io::Result<R> {
        match self.sock.borrow().as_ref() {
            Some(s) => f(s.as_fd()),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// The raw fd, while open (`Debug`, `get_extra_info`).
    pub(crate) fn raw_fd(&self) -> Option<i32> {
        self.sock.borrow().as_ref().map(|s| s.as_raw_fd())
    }

    /// Registers `f` as the reader unless one is registered; the error is the caller's to
    /// treat as fatal.
    pub(crate) fn add_reader(&self, f: impl FnMut() + 'static) -> io::Result<()> {
        if !self.reader_on.get() {
            self.with_fd(|fd| self.lp.add_reader(fd, f))?;
            self.reader_on.set(true);
        }
        Ok(())
    }

    /// Unregisters the reader.
    pub(crate) fn remove_reader(&self) {
        if self.reader_on.replace(false) {
            let _ = self.with_fd(|fd| self.lp.remove_reader(fd));
        }
    }

    /// Registers `f` as the writer unless one is registered.
    pub(crate) fn add_writer(&self, f: impl FnMut() + 'static) -> io::Result<()> {
        if !self.writer_on.get() {
            self.with_fd(|fd| self.lp.add_writer(fd, f))?;
            self.writer_on.set(true);
        }
        Ok(())
    }

    /// Unregisters the writer.
    pub(crate) fn remove_writer(&self) {
        if self.writer_on.replace(false) {
            let _ = self.with_fd(|fd| self.lp.remove_writer(fd));
        }
    }
}

impl<P: ?Sized> fmt::Debug for Life<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Life")
            .field("fd", &self.raw_fd())
            .field("closing", &self.closing.get())
            .field("conn_lost", &self.conn_lost.get())
            .field("made", &self.made.get())
            .field("lost", &self.lost.get())
            .field("slot", &self.slot)
            .finish()
    }
}

impl<P: ?Sized> Drop for Life<P> {
    /// A transport nothing holds any more (its handles, protocol and registrations all gone)
    /// leaves the loop's registry; its fd closes with it.
    fn drop(&mut self) {
        self.per_loop.unregister(self.index.get());
    }
}

/// Whether a socket call's error only means "not now" (`EAGAIN`, `EWOULDBLOCK`, `EINTR`).
pub(crate) fn transient(e: Errno) -> bool {
    e == Errno::AGAIN || e == Errno::WOULDBLOCK || e == Errno::INTR
}

/// Prepares a socket for a transport on `lp` (the set-up the socket transports share): the
/// loop must be open; the socket made non-blocking unless it is already
/// (`already_nonblocking`: `accept4(SOCK_NONBLOCK)` gave it); no
/// `SIGPIPE` ([`no_sigpipe`](crate::stream_core::no_sigpipe)). Returns the socket's own
/// address.
pub(crate) fn prepare_socket(
    lp: &EventLoop,
    sock: &OwnedFd,
    already_nonblocking: bool,
) -> io::Result<SocketAddrAny> {
    if lp.is_closed() {
        return Err(io::Error::other("the event loop is closed"));
    }
    if !already_nonblocking {
        rustix::io::ioctl_fionbio(sock, true)?;
    }
    crate::stream_core::no_sigpipe(sock);
    Ok(rustix::net::getsockname(sock)?)
}

/// Registers `t` with its loop's open transports (closed by the loop's close).
pub(crate) fn register<T: Lifecycle>(t: &Rc<T>) {
    let weak: Weak<dyn OnLoopClose> = Rc::downgrade(t) as Weak<T>;
    let life = t.life();
    life.index.set(life.per_loop.register(weak));
}

/// The closing sequence, on a transport that supplies its [`Life`] and its write buffer.
pub(crate) trait Lifecycle: Sized + 'static {
    /// The protocol type (`dyn StreamEvents`, `dyn DatagramEvents`).
    type Protocol: ?Sized + FlowTarget + LostTarget + 'static;

    /// The shared state.
    fn life(&self) -> &Life<Self::Protocol>;

    /// Whether the write buffer is empty.
    fn buffer_is_empty(&self) -> bool;

    /// Drops the write buffer (and any count kept of it).
    fn clear_buffer(&self);

    /// Calls the protocol's `connection_made` with this transport's handle.
    fn deliver_made(self: &Rc<Self>, protocol: &mut Self::Protocol);

    /// Registers the reader, if the transport reads (after `connection_made`).
    fn start_reading(self: &Rc<Self>);

    /// The scheduled `connection_made` (asyncio's `call_soon(protocol.connection_made, self)`),
    /// then reading starts (asyncio schedules that right after; starting it here is the same
    /// to the protocol: no read can run before the next poll). If the protocol's owner holds it
    /// borrowed, tried again next iteration.
    fn connection_made(self: &Rc<Self>) {
        let life = self.life();
        if life.lost.get() {
            return;
        }
        if life.slot.is_busy() {
            let t = self.clone();
            life.lp.call_soon(move || t.connection_made());
            return;
        }
        life.made.set(true);
        let (r, schedule) = life.slot.call(&life.lp, |p| self.deliver_made(p));
        if schedule {
            self.schedule_flush();
        }
        if let Err(CallError::Panicked(p)) = r {
            report_panic(&life.lp, "protocol.connection_made() failed", p);
        }
        self.start_reading();
    }

    /// Schedules the flush of the events waiting for the protocol (it was borrowed by its
    /// owner when they were raised); again while it stays borrowed.
    fn schedule_flush(self: &Rc<Self>) {
        let t = self.clone();
        self.life().lp.call_soon(move || {
            if t.life().slot.scheduled_flush(&t.life().lp) {
                t.schedule_flush();
            }
        });
    }

    /// Raises `event` for the protocol: delivered now, or when its running callback returns,
    /// or by a scheduled flush.
    fn raise(self: &Rc<Self>, event: FlowEvent) {
        if self.life().slot.raise(&self.life().lp, event) {
            self.schedule_flush();
        }
    }

    /// Wakes whatever waits on the transport's lifecycle (a `sendfile`); nothing by default.
    fn wake_waiters(&self) {}

    /// The transport is done (`connection_lost` ran, or it never will): tells the server that
    /// accepted the connection, if any ([`DetachListener`]); nothing by default.
    fn detach(&self) {}

    /// asyncio's `close`: no more reading; `connection_lost(None)` is scheduled now if nothing
    /// is buffered, else when the buffer drains ([`Lifecycle::drained`]).
    fn close(self: &Rc<Self>) {
        let life = self.life();
        if life.closing.replace(true) {
            return;
        }
        life.remove_reader();
        if self.buffer_is_empty() {
            life.conn_lost.set(life.conn_lost.get() + 1);
            life.remove_writer();
            self.schedule_connection_lost(None);
        }
    }

    /// asyncio's `_force_close` (`abort` is `force_close(None)`, a fatal error
    /// `force_close(Some(err))`): the buffer is dropped, `connection_lost(exc)` scheduled.
    fn force_close(self: &Rc<Self>, exc: Option<io::Error>) {
        let life = self.life();
        if life.conn_lost.get() > 0 {
            return;
        }
        if !self.buffer_is_empty() {
            self.clear_buffer();
            life.remove_writer();
        }
        if !life.closing.replace(true) {
            life.remove_reader();
        }
        life.conn_lost.set(life.conn_lost.get() + 1);
        self.schedule_connection_lost(exc);
    }

    /// The buffer just drained: a pending `close` completes with `connection_lost(None)`.
    fn drained(self: &Rc<Self>) {
        let life = self.life();
        if life.closing.get() && life.conn_lost.get() == 0 {
            life.conn_lost.set(1);
            self.call_connection_lost();
        }
    }

    /// Schedules `connection_lost(exc)` with `call_soon`. The error waits in `lost_exc`,
    /// where the call, its retries and a closing loop find it.
    fn schedule_connection_lost(self: &Rc<Self>, exc: Option<io::Error>) {
        *self.life().lost_exc.borrow_mut() = exc;
        self.wake_waiters();
        let t = self.clone();
        self.life().lp.call_soon(move || t.call_connection_lost());
    }

    /// asyncio's `_call_connection_lost`, with the error waiting in `lost_exc` (`None` for a
    /// `close` that drained): the protocol's last call, then the fd is closed and the protocol
    /// dropped. If the protocol is borrowed (by its owner, or a callback of it runs), the call
    /// is retried next iteration; the error stays in `lost_exc` until the protocol takes it,
    /// so a loop closing before the retry runs (its callback then dropped unrun) delivers it.
    fn call_connection_lost(self: &Rc<Self>) {
        let life = self.life();
        if life.lost.get() {
            return;
        }
        if life.made.get() {
            if life.slot.is_busy() && !life.lp.is_closed() {
                let t = self.clone();
                life.lp.call_soon(move || t.call_connection_lost());
                return;
            }
            // Not busy (or the loop is closed and no retry could run): the call goes through,
            // or finds the protocol still borrowed and is given up on.
            let (r, _) = life.slot.call(&life.lp, |p| {
                let exc = life.lost_exc.borrow_mut().take();
                p.lost(exc);
            });
            if let Err(CallError::Panicked(p)) = r {
                report_panic(&life.lp, "protocol.connection_lost() failed", p);
            }
        }
        self.finish();
    }

    /// After `connection_lost`: releases the registrations, the fd and the protocol, and
    /// leaves the loop's registry.
    fn finish(&self) {
        let life = self.life();
        life.lost.set(true);
        life.remove_reader();
        life.remove_writer();
        self.clear_buffer();
        let sock = life.sock.borrow_mut().take();
        drop(sock);
        let protocol = life.slot.replace(None);
        drop(protocol);
        // The slot may be reused at once: forget it, so `drop` frees nothing twice.
        life.per_loop.unregister(life.index.replace(usize::MAX));
        self.wake_waiters();
        self.detach();
    }
}

impl<T: Lifecycle> OnLoopClose for T {
    /// The loop closes with the transport open: `connection_lost` now (with the error of one
    /// already due, else `None`), as the ready queue is about to be dropped.
    fn loop_closed(self: Rc<Self>) {
        let life = self.life();
        if life.lost.get() {
            return;
        }
        life.closing.set(true);
        life.conn_lost.set(life.conn_lost.get().max(1));
        let exc = life.lost_exc.borrow_mut().take();
        if life.made.get() {
            if let (Err(CallError::Panicked(p)), _) = life.slot.call(&life.lp, |p| p.lost(exc)) {
                report_panic(&life.lp, "protocol.connection_lost() failed", p);
            }
        }
        self.finish();
    }
}
