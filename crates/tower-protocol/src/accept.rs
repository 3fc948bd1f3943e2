//! The accept loop (asyncio's `_accept_connection`): on readiness of a listening socket, at
//! most `backlog` connections are accepted, each handed to the server's protocol factory; and
//! what happens when the process runs out of file descriptors (`EMFILE`, `ENFILE`, `ENOBUFS`,
//! `ENOMEM`): the server neither spins nor dies (decision 0013, "Servers").
//!
//! A level-triggered listener whose accept fails with `EMFILE` stays readable: a loop that keeps
//! its reader spins at 100 % CPU (tokio's accept loop does, logging each error). asyncio removes
//! the reader and retries after one second, leaving the connection at the head of the queue to
//! wait. Here the server also keeps one reserved fd (an open `/dev/null`): on `EMFILE` it closes
//! the reserve, accepts the waiting connection with the fd that frees, closes that connection at
//! once (its client sees the connection closed instead of a silent wait), opens the reserve
//! again, reports once to the loop's exception handler, stops watching the listener and retries
//! after a back-off: 100 ms first, doubling to 1 s (asyncio's `ACCEPT_RETRY_DELAY`), back to
//! 100 ms after the next successful accept.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use rustix::io::Errno;
use tower_loop::{ExceptionContext, accept_nonblocking};

use crate::server::{Listener, ServerInner};

/// The first retry after fd exhaustion: short, because exhaustion is often a burst that ends
/// (connections closing); a retry costs a handful of syscalls.
pub(crate) const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);

/// The longest back-off: asyncio's `ACCEPT_RETRY_DELAY`. A server that stays out of fds wakes
/// once a second.
pub(crate) const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

/// A server's fd-exhaustion state.
#[derive(Debug)]
pub(crate) struct Exhaustion {
    /// The reserved fd: closed to make room for accepting (and dropping) one connection when
    /// fds are exhausted. Open while the server serves.
    reserve: RefCell<Option<OwnedFd>>,
    /// The exhaustion was reported (once per episode; an episode ends at a successful accept).
    reported: Cell<bool>,
    /// The next back-off.
    delay: Cell<Duration>,
}

impl Exhaustion {
    /// No reserve yet.
    pub(crate) fn new() -> Exhaustion {
        Exhaustion {
            reserve: RefCell::new(None),
            reported: Cell::new(false),
            delay: Cell::new(FIRST_RETRY_DELAY),
        }
    }

    /// Opens the reserved fd if it is not open (no fd to spare: none, tried again later).
    pub(crate) fn open_reserve(&self) {
        let mut r = self.reserve.borrow_mut();
        if r.is_none() {
            *r = open_reserve().ok();
        }
    }

    /// Closes the reserved fd.
    pub(crate) fn close_reserve(&self) {
        let r = self.reserve.borrow_mut().take();
        drop(r);
    }

    /// A connection was accepted: the episode (if any) is over.
    #[inline]
    fn accepted(&self) {
        if self.reported.get() {
            self.reported.set(false);
            self.delay.set(FIRST_RETRY_DELAY);
        }
    }
}

/// `/dev/null`, read-only, closed on exec.
fn open_reserve() -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    Ok(rustix::fs::open(
        "/dev/null",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Whether `e` means the process or the system is out of fds or memory for a socket.
fn out_of_resources(e: Errno) -> bool {
    e == Errno::MFILE || e == Errno::NFILE || e == Errno::NOBUFS || e == Errno::NOMEM
}

/// Watches listener `l` for connections (asyncio's `loop._start_serving`).
pub(crate) fn start_reading(server: &Rc<ServerInner>, l: &Rc<Listener>) -> io::Result<()> {
    if l.reading.get() {
        return Ok(());
    }
    // The reader holds the server: a serving server lives until `close` (or its loop's close),
    // as asyncio's loop keeps it through the reader's handle.
    let (s, li) = (server.clone(), l.clone());
    server.lp.add_reader(&l.fd, move || accept_ready(&s, &li))?;
    l.reading.set(true);
    Ok(())
}

/// Stops watching listener `l`.
pub(crate) fn stop_reading(server: &ServerInner, l: &Listener) {
    if l.reading.replace(false) {
        let _ = server.lp.remove_reader(&l.fd);
    }
}

/// The reader callback: at most `backlog` accepts (asyncio's `_accept_connection`).
fn accept_ready(server: &Rc<ServerInner>, l: &Rc<Listener>) {
    let mut n = 0;
    while n < server.backlog.max(1) {
        match accept_nonblocking(&l.fd) {
            Ok(fd) => {
                n += 1;
                server.exhaustion.accepted();
                server.connection(fd);
                // The protocol factory (or a callback it ran) may have closed the server.
                if !l.reading.get() {
                    return;
                }
            }
            Err(e) if e == Errno::INTR => {}
            // The queue is empty, or the connection was reset while waiting in it.
            Err(e) if e == Errno::AGAIN || e == Errno::WOULDBLOCK || e == Errno::CONNABORTED => {
                return;
            }
            Err(e) if out_of_resources(e) => {
                exhausted(server, l, e);
                return;
            }
            Err(e) => {
                // Nowhere to send it (asyncio lets the loop log it): the exception handler.
                server.lp.call_exception_handler(&context(format!(
                    "accept() on a server socket failed: {}",
                    io::Error::from(e)
                )));
                return;
            }
        }
    }
}

/// An exception context naming the server.
fn context(message: String) -> ExceptionContext {
    let mut ctx = ExceptionContext::new(message);
    ctx.source = Some("tower_protocol::Server");
    ctx
}

/// Out of fds (or memory): drop the waiting connection with the reserved fd, report once, stop
/// watching `l`, retry after the back-off.
fn exhausted(server: &Rc<ServerInner>, l: &Rc<Listener>, e: Errno) {
    let ex = &server.exhaustion;
    // Make room with the reserve, take the connection at the head of the queue and close it:
    // its client learns at once that it will not be served now.
    let reserve = ex.reserve.borrow_mut().take();
    let dropped = reserve.is_some() && {
        drop(reserve);
        let got = accept_nonblocking(&l.fd);
        let ok = got.is_ok();
        drop(got);
        ok
    };
    ex.open_reserve();
    if !ex.reported.replace(true) {
        server.lp.call_exception_handler(&context(format!(
            "accept() out of system resource ({}): not accepting for {:?}{}; reported once until \
             an accept succeeds",
            io::Error::from(e),
            ex.delay.get(),
            if dropped {
                ", the waiting connection was closed"
            } else {
                ""
            }
        )));
    }
    stop_reading(server, l);
    let delay = ex.delay.get();
    ex.delay.set((delay * 2).min(MAX_RETRY_DELAY));
    // Strong, as the reader it stands for: `close` cancels it (the loop's close drops it).
    let (s, li) = (server.clone(), l.clone());
    let timer = server.lp.call_later(delay, move || {
        li.retry.borrow_mut().take();
        if s.serving.get() && !s.is_closed() {
            s.exhaustion.open_reserve();
            if start_reading(&s, &li).is_err() {
                s.lp.call_exception_handler(&context(
                    "a server could not watch its listening socket again after fd exhaustion"
                        .into(),
                ));
            }
        }
    });
    if let Some(old) = l.retry.borrow_mut().replace(timer) {
        old.cancel();
    }
}
