//! The TLS state machine (asyncio's `SSLProtocol` states: UNWRAPPED, DO_HANDSHAKE, WRAPPED,
//! FLUSHING, SHUTDOWN): a rustls connection between the transport below and the user's
//! protocol above. Ciphertext from the transport goes into rustls ([`Engine::on_data`]),
//! plaintext comes out into the user's protocol (its `data_received`, or its `get_buffer` for a
//! buffered one); the user's writes are encrypted and handed to the transport
//! ([`Engine::app_write`]). Flow control both ways, the handshake and shutdown timeouts,
//! close_notify on close.
//!
//! No `RefCell` here is held across a call into the user's protocol or the transport: either
//! may call back in. Events for the user's protocol raised while it is borrowed (it called its
//! transport from a callback) are queued and delivered once it is free.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::mem;
use std::rc::{Rc, Weak};
use std::time::Duration;

use tower_loop::{EventLoop, TimerHandle};
use tower_transport::{
    BaseTransport, InvalidLimits, ReadTransport, SharedStreamEvents, StreamTransport, WriteError,
    WriteTransport,
};

use super::start::Waiter;
use super::{SSL_WRITE_HIGH_WATER, TlsConfig, TlsOptions, tls_error};

/// asyncio's `SSLProtocolState`, with the wait for the transport's buffer to drain that
/// `start_tls` does first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// No transport yet.
    Unwrapped,
    /// `start_tls`: waiting for the transport's write buffer to drain.
    Draining,
    /// The handshake runs.
    Handshake,
    /// The handshake is done: application data flows.
    Wrapped,
    /// Closing: the encrypted data still buffered is handed to the transport first.
    Flushing,
    /// Our close_notify is sent; waiting for the peer's (or its end of stream).
    Shutdown,
    /// Done: the transport is closed or closing.
    Closed,
}

/// An event for the user's protocol, queued while it is borrowed.
#[derive(Debug)]
enum AppEvent {
    /// `connection_made` with the app-side transport.
    Made,
    /// `pause_writing`.
    Pause,
    /// `resume_writing`.
    Resume,
    /// `eof_received` (its answer is ignored: TLS has no half-close, as asyncio).
    Eof,
    /// `connection_lost`.
    Lost(Option<io::Error>),
}

/// The shared state of one TLS connection: [`TlsProtocol`](super::TlsProtocol) (below) and the
/// app-side transport (above) are handles on it.
pub(crate) struct Engine {
    /// The loop it runs on.
    lp: EventLoop,
    /// rustls's connection.
    conn: RefCell<rustls::Connection>,
    /// Which end.
    server_side: bool,
    /// The state.
    state: Cell<State>,
    /// The transport below (until its `connection_lost`).
    transport: RefCell<Option<StreamTransport>>,
    /// The user's protocol (until its `connection_lost` is delivered).
    app: RefCell<Option<SharedStreamEvents>>,
    /// `connection_made` was delivered (or queued) to the user's protocol.
    app_made: Cell<bool>,
    /// Events waiting for the user's protocol to be free.
    events: RefCell<VecDeque<AppEvent>>,
    /// Events are being delivered (a nested emit only queues).
    delivering: Cell<bool>,
    /// A retry of the delivery is queued on the loop.
    retry_queued: Cell<bool>,
    /// Ciphertext rustls could not take yet (the user paused reading).
    incoming: RefCell<Vec<u8>>,
    /// The reusable plaintext buffer for a non-buffered protocol.
    plain: RefCell<Vec<u8>>,
    /// Ciphertext not yet handed to the transport (the transport paused us).
    outgoing: RefCell<Vec<u8>>,
    /// The transport below paused our writing (its `pause_writing`).
    ssl_writing_paused: Cell<bool>,
    /// We paused the user's writing.
    app_writing_paused: Cell<bool>,
    /// The user paused reading.
    app_reading_paused: Cell<bool>,
    /// The app-side write buffer's marks: pause at or above high, resume at or below low
    /// (asyncio's `_control_app_writing`).
    high: Cell<usize>,
    /// The low-water mark.
    low: Cell<usize>,
    /// The timeouts.
    options: TlsOptions,
    /// The handshake or shutdown timer.
    timer: RefCell<Option<TimerHandle>>,
    /// Who awaits the handshake (`start_tls`, `create_connection`).
    waiter: RefCell<Option<Rc<Waiter>>>,
    /// The error to report in `connection_lost` (a TLS error, a timeout).
    pending_exc: RefCell<Option<io::Error>>,
    /// The peer sent close_notify or ended the stream.
    peer_closed: Cell<bool>,
    /// The user's transport was closed or aborted (`is_closing`).
    app_closed: Cell<bool>,
    /// The write-buffer marks the transport had before `start_tls` drained it.
    saved_limits: Cell<Option<(usize, usize)>>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsEngine")
            .field("server_side", &self.server_side)
            .field("state", &self.state.get())
            .field("outgoing", &self.outgoing.borrow().len())
            .field("incoming", &self.incoming.borrow().len())
            .field("ssl_writing_paused", &self.ssl_writing_paused.get())
            .field("app_writing_paused", &self.app_writing_paused.get())
            .field("app_reading_paused", &self.app_reading_paused.get())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Size of the plaintext buffer handed to `data_received` (one TLS record).
const PLAIN_CHUNK: usize = 16 * 1024;

impl Engine {
    /// A new engine for `app` on `lp`.
    pub(crate) fn new(
        lp: EventLoop,
        app: SharedStreamEvents,
        config: &TlsConfig,
        options: TlsOptions,
        waiter: Option<Rc<Waiter>>,
    ) -> io::Result<Rc<Engine>> {
        let mut conn = config.connect()?;
        // Flow control is ours (asyncio's), not rustls's: it never refuses plaintext.
        conn.set_buffer_limit(None);
        Ok(Rc::new(Engine {
            lp,
            conn: RefCell::new(conn),
            server_side: config.is_server(),
            state: Cell::new(State::Unwrapped),
            transport: RefCell::new(None),
            app: RefCell::new(Some(app)),
            app_made: Cell::new(false),
            events: RefCell::new(VecDeque::new()),
            delivering: Cell::new(false),
            retry_queued: Cell::new(false),
            incoming: RefCell::new(Vec::new()),
            plain: RefCell::new(Vec::new()),
            outgoing: RefCell::new(Vec::new()),
            ssl_writing_paused: Cell::new(false),
            app_writing_paused: Cell::new(false),
            app_reading_paused: Cell::new(false),
            high: Cell::new(SSL_WRITE_HIGH_WATER),
            low: Cell::new(SSL_WRITE_HIGH_WATER / 4),
            options,
            timer: RefCell::new(None),
            waiter: RefCell::new(waiter),
            pending_exc: RefCell::new(None),
            peer_closed: Cell::new(false),
            app_closed: Cell::new(false),
            saved_limits: Cell::new(None),
        }))
    }

    /// The state.
    pub(crate) fn state(&self) -> State {
        self.state.get()
    }

    /// Whether this is the server end.
    pub(crate) fn server_side(&self) -> bool {
        self.server_side
    }

    /// Runs `f` on rustls's connection.
    pub(crate) fn with_conn<R>(&self, f: impl FnOnce(&rustls::Connection) -> R) -> R {
        f(&self.conn.borrow())
    }

    /// The transport below, if still there.
    pub(crate) fn transport(&self) -> Option<StreamTransport> {
        self.transport.borrow().clone()
    }

    /// The user's protocol.
    pub(crate) fn app(&self) -> Option<SharedStreamEvents> {
        self.app.borrow().clone()
    }

    /// Replaces the user's protocol (the app-side transport's `set_protocol`).
    pub(crate) fn set_app(&self, app: SharedStreamEvents) {
        if self.app.borrow().is_some() {
            *self.app.borrow_mut() = Some(app);
        }
    }

    // ----- events from the transport below -----

    /// The transport below is ours (`connection_made`, or `start_tls`'s first turn): start the
    /// handshake, once the transport's write buffer is empty.
    pub(crate) fn on_connection_made(self: &Rc<Self>, transport: StreamTransport) {
        if self.state.get() != State::Unwrapped {
            return;
        }
        *self.transport.borrow_mut() = Some(transport.clone());
        if transport.get_write_buffer_size() > 0 {
            // asyncio's start_tls awaits the buffer's drain first; tier 7 tells us through
            // resume_writing once it is empty (both marks at 0).
            self.state.set(State::Draining);
            self.ssl_writing_paused.set(true);
            let (low, high) = transport.get_write_buffer_limits();
            self.saved_limits.set(Some((low, high)));
            let _ = transport.set_write_buffer_limits(Some(0), Some(0));
            return;
        }
        self.start_handshake();
    }

    /// DO_HANDSHAKE: the client's hello goes out; reading resumes (`start_tls` paused it).
    /// The handshake timeout runs from here (asyncio's start_tls starts it after the drain).
    fn start_handshake(self: &Rc<Self>) {
        self.state.set(State::Handshake);
        self.arm_timer(self.options.handshake_timeout, |e| {
            let secs = e.options.handshake_timeout.as_secs_f64();
            // asyncio's `_check_handshake_timeout`: a `ConnectionAbortedError`.
            e.abort_with(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!(
                    "SSL handshake is taking longer than {secs:?} seconds: aborting the connection"
                ),
            ));
        });
        self.ssl_writing_paused.set(false);
        self.flush_out();
        if let Some(t) = self.transport() {
            t.resume_reading();
        }
    }

    /// The transport below paused us.
    pub(crate) fn on_pause_writing(&self) {
        self.ssl_writing_paused.set(true);
    }

    /// The transport below drained.
    pub(crate) fn on_resume_writing(self: &Rc<Self>) {
        if self.state.get() == State::Draining {
            if let (Some(t), Some((low, high))) = (self.transport(), self.saved_limits.take()) {
                let _ = t.set_write_buffer_limits(Some(high), Some(low));
            }
            self.start_handshake();
            return;
        }
        self.ssl_writing_paused.set(false);
        self.flush_out();
        if self.state.get() == State::Flushing {
            self.do_flush();
        }
    }

    /// Ciphertext arrived.
    pub(crate) fn on_data(self: &Rc<Self>, data: &[u8]) {
        match self.state.get() {
            State::Handshake | State::Wrapped | State::Flushing | State::Shutdown => {}
            _ => return,
        }
        let leftover = {
            let mut incoming = self.incoming.borrow_mut();
            if incoming.is_empty() {
                None
            } else {
                incoming.extend_from_slice(data);
                Some(mem::take(&mut *incoming))
            }
        };
        match leftover {
            None => self.feed(data),
            Some(mut buf) => {
                let used = buf.len() - self.feed_remaining(&buf);
                buf.drain(..used);
                let mut incoming = self.incoming.borrow_mut();
                buf.extend_from_slice(&incoming);
                *incoming = buf;
            }
        }
    }

    /// Feeds `data`, keeping what rustls could not take.
    fn feed(self: &Rc<Self>, data: &[u8]) {
        let rest = self.feed_remaining(data);
        if rest > 0 {
            let mut incoming = self.incoming.borrow_mut();
            let start = data.len() - rest;
            incoming.splice(0..0, data[start..].iter().copied());
        }
    }

    /// Feeds `data` to rustls and delivers what comes out; returns how many bytes at its end
    /// rustls could not take (the user paused reading with plaintext waiting).
    fn feed_remaining(self: &Rc<Self>, mut data: &[u8]) -> usize {
        // Rounds in a row in which rustls took nothing: after one, the delivery in between
        // has made room or nothing will (the user paused reading or is borrowed).
        let mut stalls = 0;
        loop {
            let mut progressed = false;
            let result = {
                let mut conn = self.conn.borrow_mut();
                let mut result = Ok(());
                while !data.is_empty() {
                    match conn.read_tls(&mut data) {
                        Ok(0) => break,
                        Ok(_) => {
                            progressed = true;
                            match conn.process_new_packets() {
                                Ok(io) => {
                                    if io.peer_has_closed() {
                                        self.peer_closed.set(true);
                                    }
                                }
                                Err(e) => {
                                    result = Err(e);
                                    break;
                                }
                            }
                        }
                        // rustls's buffers are full: deliver plaintext first.
                        Err(_) => break,
                    }
                }
                result
            };
            if let Err(e) = result {
                self.fatal(tls_error(e));
                return 0;
            }
            self.after_packets();
            if data.is_empty() || self.state.get() == State::Closed {
                break;
            }
            if progressed {
                stalls = 0;
            } else {
                stalls += 1;
                if stalls > 1 {
                    break;
                }
            }
            if self.state.get() == State::Wrapped
                && (self.app_reading_paused.get() || !self.events.borrow().is_empty())
            {
                break;
            }
        }
        if self.state.get() == State::Closed {
            0
        } else {
            data.len()
        }
    }

    /// After rustls processed records: handshake progress, records to send (handshake
    /// messages, alerts, key updates), plaintext to deliver, the peer's close_notify.
    fn after_packets(self: &Rc<Self>) {
        let handshaking = self.conn.borrow().is_handshaking();
        let closed = self.peer_closed.get();
        self.flush_out();
        if self.state.get() == State::Handshake {
            if !handshaking {
                self.on_handshake_complete();
            } else if closed {
                self.fatal(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "the peer closed the connection during the TLS handshake",
                ));
                return;
            }
        }
        if matches!(self.state.get(), State::Flushing | State::Shutdown) {
            self.discard_plaintext();
        }
        self.deliver_plaintext();
        self.check_peer_closed();
    }

    /// Closing: plaintext that still arrives is dropped (asyncio reads none after close), so
    /// rustls keeps taking records until the peer's close_notify.
    fn discard_plaintext(&self) {
        let mut conn = self.conn.borrow_mut();
        let mut sink = [0u8; 4096];
        while matches!(conn.reader().read(&mut sink), Ok(n) if n > 0) {}
    }

    /// The handshake is done: WRAPPED, the user's `connection_made`, the waiter.
    fn on_handshake_complete(self: &Rc<Self>) {
        self.cancel_timer();
        self.state.set(State::Wrapped);
        self.app_made.set(true);
        self.emit(AppEvent::Made);
        if let Some(w) = self.waiter.borrow_mut().take() {
            w.set(Ok(()));
        }
    }

    /// Plaintext to the user's protocol, while it reads; `true` once rustls has none left.
    fn deliver_plaintext(self: &Rc<Self>) -> bool {
        loop {
            if self.state.get() != State::Wrapped || self.app_reading_paused.get() {
                return false;
            }
            self.flush_events();
            if !self.events.borrow().is_empty() {
                return false;
            }
            let Some(app) = self.app() else { return false };
            let Ok(mut a) = app.try_borrow_mut() else {
                self.queue_retry();
                return false;
            };
            if a.buffered() {
                let buf = a.get_buffer(0);
                if buf.is_empty() {
                    drop(a);
                    self.fatal(io::Error::other("get_buffer() returned an empty buffer"));
                    return false;
                }
                let read = self.conn.borrow_mut().reader().read(buf);
                match read {
                    Ok(n) if n > 0 => a.buffer_updated(n),
                    _ => return true,
                }
            } else {
                let mut plain = mem::take(&mut *self.plain.borrow_mut());
                plain.resize(PLAIN_CHUNK, 0);
                let read = self.conn.borrow_mut().reader().read(&mut plain);
                let n = match read {
                    Ok(n) if n > 0 => n,
                    _ => {
                        *self.plain.borrow_mut() = plain;
                        return true;
                    }
                };
                a.data_received(&plain[..n]);
                *self.plain.borrow_mut() = plain;
            }
        }
    }

    /// Whether rustls holds plaintext not yet delivered.
    fn plaintext_pending(&self) -> bool {
        matches!(self.conn.borrow_mut().reader().into_first_chunk(), Ok(c) if !c.is_empty())
    }

    /// The peer's close_notify or end of stream, once its plaintext is delivered: the user's
    /// `eof_received`, then our close (asyncio: TLS has no half-close); in SHUTDOWN, the
    /// shutdown is complete.
    fn check_peer_closed(self: &Rc<Self>) {
        if !self.peer_closed.get() {
            return;
        }
        match self.state.get() {
            State::Wrapped => {
                if self.app_reading_paused.get() || self.plaintext_pending() {
                    return;
                }
                self.emit(AppEvent::Eof);
                if self.state.get() == State::Wrapped {
                    self.app_closed.set(true);
                    self.start_shutdown();
                }
            }
            State::Shutdown => self.shutdown_complete(),
            _ => {}
        }
    }

    /// The peer ended the stream. Returns `true`: the TLS protocol closes the transport itself.
    pub(crate) fn on_eof(self: &Rc<Self>) -> bool {
        let result = {
            let mut conn = self.conn.borrow_mut();
            let _ = conn.read_tls(&mut &[][..]);
            conn.process_new_packets().map(|_| ())
        };
        self.peer_closed.set(true);
        match self.state.get() {
            State::Draining | State::Handshake => {
                self.fatal(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "the peer closed the connection during the TLS handshake",
                ));
            }
            State::Wrapped => {
                if let Err(e) = result {
                    self.fatal(tls_error(e));
                } else {
                    self.deliver_plaintext();
                    self.check_peer_closed();
                }
            }
            State::Flushing | State::Shutdown => self.shutdown_complete(),
            State::Unwrapped | State::Closed => {}
        }
        true
    }

    /// The transport below is gone.
    pub(crate) fn on_connection_lost(self: &Rc<Self>, exc: Option<io::Error>) {
        self.cancel_timer();
        self.state.set(State::Closed);
        self.app_closed.set(true);
        self.transport.borrow_mut().take();
        let exc = exc.or_else(|| self.pending_exc.borrow_mut().take());
        if let Some(w) = self.waiter.borrow_mut().take() {
            w.set(Err(exc.unwrap_or_else(|| {
                io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the connection was lost during the TLS handshake",
                )
            })));
            self.app.borrow_mut().take();
            return;
        }
        if self.app_made.get() {
            self.emit(AppEvent::Lost(exc));
        } else {
            self.app.borrow_mut().take();
        }
    }

    // ----- the app-side transport's methods -----

    /// `write`/`writelines`: encrypt, hand to the transport.
    pub(crate) fn app_write(self: &Rc<Self>, pieces: &[&[u8]]) -> Result<(), WriteError> {
        if self.app_closed.get()
            || matches!(
                self.state.get(),
                State::Flushing | State::Shutdown | State::Closed
            )
        {
            return Ok(()); // asyncio: ignored (and warned about) once closing
        }
        // Before the handshake is done rustls keeps the plaintext and sends it right after
        // (asyncio's write backlog).
        {
            let mut conn = self.conn.borrow_mut();
            for piece in pieces {
                // No buffer limit is set: rustls takes it all.
                let _ = conn.writer().write_all(piece);
            }
        }
        self.flush_out();
        Ok(())
    }

    /// `close`: FLUSHING, then close_notify, then SHUTDOWN.
    pub(crate) fn app_close(self: &Rc<Self>) {
        if self.app_closed.replace(true) {
            return;
        }
        match self.state.get() {
            State::Wrapped => self.start_shutdown(),
            State::Unwrapped | State::Closed => {}
            _ => self.abort_with_none(),
        }
    }

    /// `abort`: the transport below is aborted; `connection_lost(None)` follows.
    pub(crate) fn app_abort(self: &Rc<Self>) {
        self.app_closed.set(true);
        self.abort_with_none();
    }

    /// `is_closing`.
    pub(crate) fn is_closing(&self) -> bool {
        self.app_closed.get() || self.state.get() == State::Closed
    }

    /// `is_reading`.
    pub(crate) fn is_reading(&self) -> bool {
        !self.app_reading_paused.get() && !self.is_closing()
    }

    /// `pause_reading`: no more plaintext, and the transport below stops reading.
    pub(crate) fn pause_reading(&self) {
        if self.app_reading_paused.replace(true) {
            return;
        }
        if let Some(t) = self.transport() {
            t.pause_reading();
        }
    }

    /// `resume_reading`: what is waiting is delivered on the next turn, and the transport
    /// below reads again.
    pub(crate) fn resume_reading(self: &Rc<Self>) {
        if !self.app_reading_paused.replace(false) || self.is_closing() {
            return;
        }
        if let Some(t) = self.transport() {
            t.resume_reading();
        }
        let weak = Rc::downgrade(self);
        self.lp.call_soon(move || {
            if let Some(e) = weak.upgrade() {
                e.pump();
            }
        });
    }

    /// Goes on where delivery stopped (the user resumed reading, or its protocol is free
    /// again): the ciphertext kept back, the plaintext waiting, the peer's close.
    fn pump(self: &Rc<Self>) {
        let incoming = mem::take(&mut *self.incoming.borrow_mut());
        if incoming.is_empty() {
            self.after_packets();
        } else {
            self.feed(&incoming);
        }
    }

    /// `get_write_buffer_size`: encrypted bytes not yet handed to the transport.
    pub(crate) fn write_buffer_size(&self) -> usize {
        self.outgoing.borrow().len()
    }

    /// `get_write_buffer_limits`: `(low, high)`.
    pub(crate) fn write_buffer_limits(&self) -> (usize, usize) {
        (self.low.get(), self.high.get())
    }

    /// `set_write_buffer_limits`, with asyncio's defaults for TLS (512 KiB, low = high / 4).
    pub(crate) fn set_write_buffer_limits(
        self: &Rc<Self>,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), InvalidLimits> {
        let high = match (high, low) {
            (Some(h), _) => h,
            (None, None) => SSL_WRITE_HIGH_WATER,
            (None, Some(l)) => l.saturating_mul(4),
        };
        let low = low.unwrap_or(high / 4);
        if high < low {
            return Err(InvalidLimits { high, low });
        }
        self.high.set(high);
        self.low.set(low);
        self.control_app_writing();
        Ok(())
    }

    // ----- the machinery -----

    /// Moves rustls's records into `outgoing`, and `outgoing` to the transport unless it
    /// paused us; then the user's flow control.
    fn flush_out(self: &Rc<Self>) {
        {
            let mut conn = self.conn.borrow_mut();
            let mut out = self.outgoing.borrow_mut();
            while conn.wants_write() {
                if conn.write_tls(&mut *out).is_err() {
                    break;
                }
            }
        }
        if !self.ssl_writing_paused.get() && !self.outgoing.borrow().is_empty() {
            if let Some(t) = self.transport() {
                let mut data = mem::take(&mut *self.outgoing.borrow_mut());
                let _ = t.write(&data);
                let mut out = self.outgoing.borrow_mut();
                if out.is_empty() {
                    data.clear();
                    *out = data; // keep the capacity
                }
            }
        }
        self.control_app_writing();
    }

    /// asyncio's `_control_app_writing`: pause the user at or above high, resume at or below
    /// low.
    fn control_app_writing(self: &Rc<Self>) {
        if !self.app_made.get() || self.state.get() == State::Closed {
            return;
        }
        let size = self.write_buffer_size();
        if size >= self.high.get() && !self.app_writing_paused.get() {
            self.app_writing_paused.set(true);
            self.emit(AppEvent::Pause);
        } else if size <= self.low.get() && self.app_writing_paused.get() {
            self.app_writing_paused.set(false);
            self.emit(AppEvent::Resume);
        }
    }

    /// asyncio's `_start_shutdown`: FLUSHING, with the shutdown timeout running from here
    /// (through SHUTDOWN) — the transport is aborted with `TimedOut` when it fires.
    fn start_shutdown(self: &Rc<Self>) {
        self.state.set(State::Flushing);
        if self.app_reading_paused.get() {
            // The peer's close_notify must be read: reading goes on, the data is dropped.
            if let Some(t) = self.transport() {
                t.resume_reading();
            }
            let weak = Rc::downgrade(self);
            self.lp.call_soon(move || {
                if let Some(e) = weak.upgrade() {
                    e.pump();
                }
            });
        }
        self.arm_timer(self.options.shutdown_timeout, |e| {
            e.abort_with(io::Error::new(
                io::ErrorKind::TimedOut,
                "SSL shutdown timed out",
            ));
        });
        self.do_flush();
    }

    /// FLUSHING: once `outgoing` is handed over, close_notify and SHUTDOWN.
    fn do_flush(self: &Rc<Self>) {
        self.flush_out();
        if !self.outgoing.borrow().is_empty() {
            return; // on_resume_writing comes back here
        }
        self.state.set(State::Shutdown);
        self.conn.borrow_mut().send_close_notify();
        self.flush_out();
        if self.peer_closed.get() {
            self.shutdown_complete();
        }
    }

    /// Both close_notify were exchanged (or the peer ended the stream): close the transport.
    fn shutdown_complete(self: &Rc<Self>) {
        self.cancel_timer();
        self.state.set(State::Closed);
        if let Some(t) = self.transport() {
            t.close();
        }
    }

    /// A TLS error (or a broken protocol): alerts are sent, the transport is closed, the
    /// error goes to the waiter or to the user's `connection_lost`.
    fn fatal(self: &Rc<Self>, exc: io::Error) {
        if self.state.get() == State::Closed {
            return;
        }
        self.cancel_timer();
        self.ssl_writing_paused.set(false);
        self.flush_out();
        self.state.set(State::Closed);
        self.pending_exc.borrow_mut().get_or_insert(exc);
        if let Some(t) = self.transport() {
            t.close();
        }
    }

    /// Aborts the transport with `exc` for `connection_lost` (the timeouts).
    fn abort_with(self: &Rc<Self>, exc: io::Error) {
        self.pending_exc.borrow_mut().get_or_insert(exc);
        self.abort_with_none();
    }

    /// Aborts the transport.
    fn abort_with_none(self: &Rc<Self>) {
        self.cancel_timer();
        self.state.set(State::Closed);
        if let Some(t) = self.transport() {
            t.abort();
        }
    }

    /// Starts the timer: `f` runs after `delay` unless cancelled.
    fn arm_timer(self: &Rc<Self>, delay: Duration, f: fn(&Rc<Engine>)) {
        self.cancel_timer();
        let weak: Weak<Engine> = Rc::downgrade(self);
        let handle = self.lp.call_later(delay, move || {
            if let Some(e) = weak.upgrade() {
                e.timer.borrow_mut().take();
                f(&e);
            }
        });
        *self.timer.borrow_mut() = Some(handle);
    }

    /// Cancels the timer.
    fn cancel_timer(&self) {
        if let Some(t) = self.timer.borrow_mut().take() {
            t.cancel();
        }
    }

    /// Queues `event` for the user's protocol and delivers what can be.
    fn emit(self: &Rc<Self>, event: AppEvent) {
        self.events.borrow_mut().push_back(event);
        self.flush_events();
    }

    /// Delivers the queued events while the user's protocol is free.
    fn flush_events(self: &Rc<Self>) {
        if self.delivering.get() {
            return;
        }
        self.delivering.set(true);
        loop {
            let Some(app) = self.app() else {
                self.events.borrow_mut().clear();
                break;
            };
            let Some(event) = self.events.borrow_mut().pop_front() else {
                break;
            };
            let Ok(mut a) = app.try_borrow_mut() else {
                self.events.borrow_mut().push_front(event);
                self.queue_retry();
                break;
            };
            match event {
                AppEvent::Made => a.connection_made(super::protocol::app_transport(self)),
                AppEvent::Pause => a.pause_writing(),
                AppEvent::Resume => a.resume_writing(),
                AppEvent::Eof => {
                    // Its answer has no effect with TLS (asyncio warns).
                    let _ = a.eof_received();
                }
                AppEvent::Lost(exc) => {
                    a.connection_lost(exc);
                    drop(a);
                    self.app.borrow_mut().take();
                    self.events.borrow_mut().clear();
                }
            }
        }
        self.delivering.set(false);
    }

    /// Retries the delivery on the next turn (the user's protocol was borrowed).
    fn queue_retry(self: &Rc<Self>) {
        if self.retry_queued.replace(true) {
            return;
        }
        let weak = Rc::downgrade(self);
        self.lp.call_soon(move || {
            if let Some(e) = weak.upgrade() {
                e.retry_queued.set(false);
                e.flush_events();
                e.pump();
            }
        });
    }
}
