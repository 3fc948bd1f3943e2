//! The reactor: the loop's fd registrations and the dispatch of readiness events, on the
//! poller of [`backend`] (straight on `epoll` on Linux, `polling` elsewhere;
//! docs/decisions/0009-reactor-epoll.md).
//!
//! Two kinds of registrations share one poller, told apart by the key's top bit:
//!
//! - **Loop-thread fds** (`add_reader`/`add_writer`, and the waits of the `sock_*` methods),
//!   keyed by the fd number, kept in a loop-local table indexed by it (`reactor/fd_table.rs`).
//!   With a reader or writer callback the fd is registered level-triggered (asyncio's selector
//!   semantics: the callback runs every iteration while the fd is ready). With only `sock_*` waiters it is registered
//!   edge-triggered for both directions, once (one `epoll_ctl(ADD)`), and stays registered for
//!   the rest of the fd's life: no syscall per wait or per event. The entry caches the
//!   readiness the events reported; an operation whose direction was used up (its `EAGAIN`, or
//!   a short read or write) waits for the next edge without trying its syscall, as tokio does.
//!   A TCP read that fills its buffer asks what it left behind: on its own (`TCP_INQ`,
//!   `sock/inq.rs`), or — on a loop that makes many such reads per poll interval — in the
//!   *batched probe*: the read is a plain `recv`, its direction counts as used up, and the next
//!   poll asks the kernel in one `poll(2)` which of those sockets still hold bytes, making them
//!   readable again (`LocalReactor::defer_to_probe`, [`PROBE_MIN`]).
//! - **[`Async`](crate::Async) sources**, `Send`, keyed by `SOURCE_BIT | slab index`, registered
//!   edge-triggered once for both directions; readiness is cached in the source until an
//!   operation reports `WouldBlock`.
//!
//! # Trusting a registration
//!
//! The `sock_*` methods borrow sockets the loop does not own: a caller may close one between
//! operations, and a new socket may get its number. The kernel drops the registration of a
//! closed socket by itself, so a table entry may be stale. A wait that finds the fd registered
//! therefore registers without a syscall but marks the entry *unconfirmed*; the registration is
//! confirmed (one `epoll_ctl(MOD)`, or `ADD` if the number is new to the kernel, which then
//! reports the new socket's readiness) before anything could strand the waiter:
//!
//! - before the loop would block (or jump virtual time): with unconfirmed waiters it first polls
//!   without blocking, and only if that brings nothing confirms them all, then waits;
//! - on a loop that never runs out of work, once a waiter stayed unconfirmed for
//!   [`CONFIRM_AFTER_POLLS`] polls (at most twice that: an fd is looked at when its item in the
//!   queue of unconfirmed fds is that old; the item stays queued while the fd's waiters come
//!   and go, so a busy fd costs one look every so many polls, not one queue item per wait).
//!
//! Under load (an echo server), waits are served by the next events and never confirmed: no
//! `epoll_ctl` at all. A loop that blocks between each event pays the zero-timeout poll and a
//! `MOD` per wait (what the one-shot re-arm of each wait cost before, plus the poll).
//!
//! Events are collected in batches (one `wait` per iteration into a reused `Events` buffer);
//! callbacks go to the ready queue, and wakers are collected and woken after every borrow and
//! lock is released. Each `sock_*` waiter has its own registration ([`waiters`]): dropping a
//! wait removes only its own.
//!
//! Errors of the poller are not swallowed: a failed `wait` stops the loop and comes out of
//! `run_forever`/`run_until_complete` (asyncio lets a selector error propagate from
//! `_run_once`); a failed confirmation wakes the `sock_*` waiters of the fd (each retries and
//! gets the error from its own syscall or registration), and a failed update of an
//! `add_reader`/`add_writer` registration is reported to the loop's exception handler.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use crate::callback::{Callback, OnceCell};
use crate::error::RunError;
use crate::loop_handle::Shared;
use crate::ready::{Ready, ReadyQueue};
use tower_coro::poison_free::Mutex;

mod backend;
pub mod driver;
mod fd_table;
#[cfg(not(loom))]
mod waiters;
#[cfg(loom)]
pub mod waiters;

pub(crate) use backend::Poller;
use backend::{Event, Events, PollMode};
use fd_table::FdTable;
pub(crate) use waiters::{READ, SourceWaiters, WRITE, WaiterId};
use waiters::{WaiterIds, Waiters};

/// Poll the reactor (zero timeout) at least once per this many ready items, for I/O fairness.
const EVENT_INTERVAL: usize = 61;

/// Keys with this bit set name an [`Async`](crate::Async) source.
pub(crate) const SOURCE_BIT: usize = 1 << (usize::BITS - 2);

/// What the kernel was told about a loop-thread fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Armed {
    /// Level-triggered with these interest bits (the fd has an `add_reader`/`add_writer`
    /// callback).
    Level(u8),
    /// Edge-triggered for both directions, for as long as the fd lives (only `sock_*` waits).
    Edge,
}

/// The loop-thread registration of one fd.
#[derive(Default)]
pub(crate) struct FdEntry {
    /// `add_reader` callback.
    reader: Option<Rc<dyn Callback>>,
    /// `add_writer` callback.
    writer: Option<Rc<dyn Callback>>,
    /// `sock_*` operations waiting for readability.
    readers: Waiters,
    /// `sock_*` operations waiting for writability.
    writers: Waiters,
    /// What the kernel was last told: `None` if not (knowingly) registered.
    armed: Option<Armed>,
    /// The directions reported ready by an event and not used up since (an operation's
    /// `EAGAIN`, or a short read or write, clears its direction). Consulted only for an
    /// edge-triggered entry: an operation on a direction that is not ready waits for the next
    /// edge without trying its syscall first.
    ready: u8,
    /// Some waiter registered on the edge-triggered registration without an `epoll_ctl`, and
    /// the registration was not confirmed, nor the waiters served by an event, since (see
    /// "Trusting a registration" in the module docs): the poll count when that happened.
    unconfirmed: Option<u64>,
    /// The entry's item in `LocalReactor::unconfirmed`, by the poll count it was queued at
    /// (`None`: not queued). The item stays queued while the entry's waiters come and go:
    /// it is looked at once it is [`CONFIRM_AFTER_POLLS`] old, and queued again then if the
    /// entry has young unconfirmed waiters (one item per busy fd every so many polls, instead
    /// of one per wait).
    queued: Option<u64>,
    /// Whether `TCP_INQ` is on for the fd (`None`: not asked yet), so that its reads say what
    /// they left behind (`sock/inq.rs`).
    inq: Option<bool>,
    /// The fd is in `LocalReactor::probe`: a plain read filled the buffer, and whether it left
    /// bytes behind is asked at the next poll.
    probing: bool,
}

impl FdEntry {
    /// The interest bits this entry needs.
    fn wanted(&self) -> u8 {
        let mut bits = 0;
        if self.reader.is_some() || !self.readers.is_empty() {
            bits |= READ;
        }
        if self.writer.is_some() || !self.writers.is_empty() {
            bits |= WRITE;
        }
        bits
    }

    /// Whether the entry has persistent callbacks (level-triggered mode).
    fn level(&self) -> bool {
        self.reader.is_some() || self.writer.is_some()
    }

    /// The waiters of `dir`.
    fn waiters(&mut self, dir: u8) -> &mut Waiters {
        if dir == READ {
            &mut self.readers
        } else {
            &mut self.writers
        }
    }

    /// Whether nobody waits in either direction.
    fn nobody_waits(&self) -> bool {
        self.readers.is_empty() && self.writers.is_empty()
    }
}

/// Where a `sock_*` operation stands ([`LocalReactor::attempt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Its waiter still waits: stay pending.
    Waiting,
    /// Make the syscall; `inq`: a read asks `TCP_INQ` what it leaves behind; `probe`: a plain
    /// read that fills the buffer leaves the question to the next poll's batched probe
    /// ([`LocalReactor::defer_to_probe`]).
    Try {
        /// Ask `TCP_INQ`.
        inq: bool,
        /// Read plainly and defer the question to the probe.
        probe: bool,
    },
    /// The direction's readiness is used up: the operation now waits for the next edge, as
    /// this new waiter (registered as [`LocalReactor::wait`] would, without a syscall).
    Registered(WaiterId),
}

/// With at least this many reads that filled their buffer on `TCP_INQ` sockets since the last
/// poll (an interval with none leaves the mode as it was), the next interval's reads on such
/// sockets are plain `recv`s, and the poll asks the
/// kernel in one `poll(2)` which of the sockets they filled still hold bytes (the batched
/// probe); with fewer, each read asks `TCP_INQ` (a `recvmsg` with a control message). Measured
/// (docs/decisions/0009, the syscall floor of an echo over N connections): `recvmsg` with
/// `TCP_CM_INQ` costs ~110 ns more per read than `recv`; the probe costs more than that at 1
/// and 2 connections (about N full reads per interval), less from 4 on.
const PROBE_MIN: u32 = 4;

/// After this many polls, waiters still unconfirmed are confirmed even if every poll brought
/// events (a loop that never runs out of work).
const CONFIRM_AFTER_POLLS: u64 = 8;

/// The loop-local half of the reactor.
#[derive(Default)]
pub(crate) struct LocalReactor {
    /// Ready items run since the reactor was last polled: with work ready, the loop polls it
    /// (zero timeout) once this reaches [`EVENT_INTERVAL`].
    since_poll: Cell<usize>,
    /// Polls made so far (the age of an unconfirmed registration is counted in polls).
    polls: Cell<u64>,
    /// The loop's own poller reported, at its last wait, an event of a fd registered
    /// level-triggered (an `add_reader`/`add_writer` callback): the kernel puts such a fd back
    /// in the poller's ready list without a new edge, so its nesting in an
    /// [`IoDriver`](driver::IoDriver)'s poller reports nothing for what it still has (a pipe's
    /// end of stream after its data), and the holder of the driver's role polls its own poller
    /// again (`driver.rs`). Edge-triggered fds and sources, and the wake-up, never set it:
    /// each of their new readinesses is a new edge.
    own_ready: Cell<bool>,
    /// The events buffer, reused every iteration.
    events: RefCell<Option<Events>>,
    /// Registrations keyed by fd.
    fds: RefCell<FdTable>,
    /// Fds whose entry has (or had) unconfirmed waiters, oldest first, with the poll count
    /// they were queued at (an item whose entry no longer names it as its `queued` is skipped
    /// when met).
    unconfirmed: RefCell<VecDeque<(RawFd, u64)>>,
    /// Wakers collected during dispatch, woken after; the buffer is reused.
    wakers: RefCell<Vec<Waker>>,
    /// Ids of `sock_*` waits, one sequence for every fd of the loop (an fd's entry may be
    /// dropped and made again while a stale waiter still holds an id).
    ids: RefCell<WaiterIds>,
    /// The error of the poller's last `wait`, until the running `run_*` call takes it.
    error: RefCell<Option<io::Error>>,
    /// Fds whose last plain read filled its buffer: the next poll asks the kernel, in one
    /// `poll(2)`, whether they still hold bytes ([`defer_to_probe`](Self::defer_to_probe)).
    probe: RefCell<Vec<RawFd>>,
    /// The `pollfd` array of the probe, reused.
    probe_fds: RefCell<Vec<libc::pollfd>>,
    /// Reads that filled their buffer on `TCP_INQ` sockets since the last poll.
    full_reads: Cell<u32>,
    /// This interval's reads on `TCP_INQ` sockets are plain, their question batched
    /// ([`PROBE_MIN`]).
    probe_mode: Cell<bool>,
}

/// Registers or re-arms `fd` with `bits` interest in `mode`; `known`: the fd is believed to be
/// registered (`MOD` first, `ADD` if the kernel does not know it).
fn arm(poller: &Poller, fd: RawFd, bits: u8, mode: PollMode, known: bool) -> io::Result<()> {
    let ev = Event::new(fd as usize, bits & READ != 0, bits & WRITE != 0);
    // SAFETY: the fd was given to us as an open `AsFd` when it was registered, and the caller of
    // `add_reader`/`sock_*` keeps it open while registered (documented). If it was closed anyway,
    // epoll_ctl fails with EBADF/ENOENT, which we handle; the number is never used as memory.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    let first = if known {
        poller.modify_with_mode(bfd, ev, mode)
    } else {
        add(poller, fd, ev, mode)
    };
    match first {
        Err(e) if known && e.raw_os_error() == Some(rustix::io::Errno::NOENT.raw_os_error()) => {
            add(poller, fd, ev, mode)
        }
        Err(e) if !known && e.raw_os_error() == Some(rustix::io::Errno::EXIST.raw_os_error()) => {
            poller.modify_with_mode(bfd, ev, mode)
        }
        r => r,
    }
}

/// Registers `fd` as `armed` says (see [`arm`]).
fn arm_as(poller: &Poller, fd: RawFd, armed: Armed, known: bool) -> io::Result<()> {
    match armed {
        Armed::Level(bits) => arm(poller, fd, bits, PollMode::Level, known),
        Armed::Edge => arm(poller, fd, READ | WRITE, edge_mode(poller), known),
    }
}

/// Edge-triggered where the poller has it, else level-triggered (spurious wake-ups only: a
/// woken waiter retries its syscall).
fn edge_mode(poller: &Poller) -> PollMode {
    if poller.supports_edge() {
        PollMode::Edge
    } else {
        PollMode::Level
    }
}

/// `Poller::add_with_mode` on a raw fd.
fn add(poller: &Poller, fd: RawFd, ev: Event, mode: PollMode) -> io::Result<()> {
    // SAFETY: `polling` requires the source to be deleted before it is closed; that matters on
    // platforms that keep per-source state (IOCP). On epoll/kqueue, which this crate targets, the
    // kernel drops the registration of a closed fd by itself and we treat ENOENT as "gone".
    unsafe { poller.add_with_mode(fd, ev, mode) }
}

/// Removes `fd` from the poller, ignoring "not registered" and "bad fd".
fn delete(poller: &Poller, fd: RawFd) {
    // SAFETY: as in `arm`: a closed fd makes epoll_ctl fail, nothing worse.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    let _ = poller.delete(bfd);
}

/// The poller's `wait` failed: the error is kept for [`LocalReactor::take_error`], and the
/// caller stops the loop.
#[derive(Debug)]
pub(crate) struct PollFailed;

impl LocalReactor {
    /// Whether a zero-timeout poll could report anything but a cross-thread wake-up (which the
    /// park word carries while the loop runs): any fd callback/waiter or `Async` source.
    pub(crate) fn has_registrations(&self, shared: &Shared) -> bool {
        !self.fds.borrow().is_empty()
            || !shared.sources().is_empty()
            || shared
                .io_driver()
                .is_some_and(|(d, _)| !d.sources().is_empty())
    }

    /// Whether enough ready items ran since the last poll that the loop should poll now, even
    /// with work ready.
    #[inline(always)]
    pub(crate) fn is_poll_due(&self) -> bool {
        self.since_poll.get() >= EVENT_INTERVAL
    }

    /// A due poll was skipped (nothing is registered): count from zero again.
    #[inline(always)]
    pub(crate) fn skip_due_poll(&self) {
        self.since_poll.set(0);
    }

    /// Makes the next iteration poll even if work is ready (a run starts: asyncio's pre-stopped
    /// `run_forever` polls the selector once).
    pub(crate) fn poll_on_next_turn(&self) {
        self.since_poll.set(EVENT_INTERVAL);
    }

    /// Counts `n` ready items run since the last poll.
    #[inline(always)]
    pub(crate) fn count_run(&self, n: usize) {
        self.since_poll.set(self.since_poll.get() + n);
    }

    /// `add_reader`/`add_writer`: installs `cb` for `dir`, replacing (and cancelling) the
    /// previous one, and arms the fd level-triggered.
    pub(crate) fn set_callback(
        &self,
        poller: &Poller,
        fd: RawFd,
        dir: u8,
        cb: Option<Rc<dyn Callback>>,
    ) -> io::Result<bool> {
        let mut fds = self.fds.borrow_mut();
        let entry = fds.get_or_default(fd);
        let slot = if dir == READ {
            &mut entry.reader
        } else {
            &mut entry.writer
        };
        let had = slot.is_some();
        let old = std::mem::replace(slot, cb);
        if let Some(old) = &old {
            old.cancel();
        }
        let res = self.sync(poller, fd, &mut fds);
        drop(fds);
        drop(old);
        res.map(|()| had)
    }

    /// Brings the kernel's registration of `fd` in line with its entry: a syscall only when a
    /// level-triggered interest changes, or when the fd gets its edge-triggered registration
    /// (once); a wait on an edge-triggered entry only marks it unconfirmed.
    fn sync(&self, poller: &Poller, fd: RawFd, fds: &mut FdTable) -> io::Result<()> {
        let Some(entry) = fds.get_mut(fd) else {
            return Ok(());
        };
        let bits = entry.wanted();
        if bits == 0 {
            match entry.armed {
                // `remove_reader`/`remove_writer` took the last callback: unregister, as
                // asyncio's selector does.
                Some(Armed::Level(_)) => {
                    delete(poller, fd);
                    fds.remove(fd);
                }
                None => {
                    fds.remove(fd);
                }
                // Kept for the fd's life: the next wait costs no syscall.
                Some(Armed::Edge) => {}
            }
            return Ok(());
        }
        let want = if entry.level() {
            Armed::Level(bits)
        } else {
            Armed::Edge
        };
        if entry.armed == Some(want) {
            if want == Armed::Edge {
                self.mark_unconfirmed(fd, entry);
            }
            return Ok(());
        }
        let known = entry.armed.is_some();
        match arm_as(poller, fd, want, known) {
            Ok(()) => {
                if entry.armed.is_none() {
                    // New to the kernel: the edge-triggered registration reports what is ready
                    // now; until it does, the other direction is worth a try.
                    entry.ready = READ | WRITE;
                }
                entry.armed = Some(want);
                entry.unconfirmed = None;
                Ok(())
            }
            Err(e) => {
                entry.armed = None;
                entry.unconfirmed = None;
                Err(e)
            }
        }
    }

    /// Where a `sock_*` operation on `dir` of `fd` stands, in one look at the fd's entry:
    ///
    /// - [`Attempt::Waiting`] if its waiter `id` still waits (it now wakes `waker`);
    /// - [`Attempt::Registered`] if the fd's edge-triggered registration reported no readiness
    ///   of `dir` since it was last used up: the operation is registered as a new waiter (with
    ///   `waker`) for the next edge, without an `EAGAIN` round trip;
    /// - otherwise [`Attempt::Try`]: make the syscall. Its `inq` says whether a read should ask
    ///   how many bytes it leaves behind (`TCP_INQ`, asked for by `want_inq`): only on an
    ///   edge-triggered entry, whose readiness a read that took everything can use up. The
    ///   first such read turns the option on (one `setsockopt`), later ones answer from the
    ///   entry.
    #[inline(always)]
    pub(crate) fn attempt(
        &self,
        fd: RawFd,
        dir: u8,
        id: Option<WaiterId>,
        waker: &Waker,
        want_inq: bool,
    ) -> Attempt {
        let mut fds = self.fds.borrow_mut();
        let Some(e) = fds.get_mut(fd) else {
            return Attempt::Try {
                inq: false,
                probe: false,
            };
        };
        if let Some(id) = id {
            // Woken (the common case): the list was emptied, no search.
            let list = e.waiters(dir);
            if !list.is_empty() && list.refresh(id, waker) {
                return Attempt::Waiting;
            }
        }
        if e.armed != Some(Armed::Edge) {
            return Attempt::Try {
                inq: false,
                probe: false,
            };
        }
        if e.ready & dir == 0 && !e.level() {
            return Attempt::Registered(self.register_edge(fd, e, dir, waker));
        }
        let inq = want_inq
            && *e.inq.get_or_insert_with(|| {
                // SAFETY: the number is only handed to `setsockopt`, which fails on a closed
                // fd; the caller of `sock_*` keeps the socket open while the operation runs.
                crate::sock::inq::enable(unsafe { BorrowedFd::borrow_raw(fd) })
            });
        // A socket already queued for the probe reads plainly too: the probe answers for it.
        let probe = inq && (self.probe_mode.get() || e.probing);
        Attempt::Try {
            inq: inq && !probe,
            probe,
        }
    }

    /// After a successful `sock_*` syscall on `dir` of `fd`: `used_up` if it used the
    /// direction's readiness up (a short read or write, or a read that left nothing: the next
    /// operation waits for the next edge); `inq_lost` if a read asked with `TCP_INQ` got no
    /// answer (the fd number now names another socket, the old one was closed and the number
    /// reused: the next read turns the option on again).
    #[inline]
    pub(crate) fn finish(&self, fd: RawFd, dir: u8, used_up: bool, inq_lost: bool) {
        if !(used_up || inq_lost) {
            return;
        }
        if let Some(e) = self.fds.borrow_mut().get_mut(fd) {
            if used_up {
                e.ready &= !dir;
            }
            if inq_lost {
                e.inq = None;
            }
        }
    }

    /// Counts a read on a `TCP_INQ` socket that filled its buffer (what decides
    /// [`PROBE_MIN`]'s mode for the next interval).
    #[inline(always)]
    pub(crate) fn count_full_read(&self) {
        self.full_reads.set(self.full_reads.get().wrapping_add(1));
    }

    /// After a plain read on `fd` that filled its buffer (asked with `probe`): whether it left
    /// bytes behind is unknown, so its readiness is used up as if it had not, and the fd is
    /// queued for the next poll's probe, which restores the readiness (and wakes the readers)
    /// if bytes remain. The next read waits for that poll instead of making a `recv` that may
    /// return `EAGAIN`.
    #[inline]
    pub(crate) fn defer_to_probe(&self, fd: RawFd) {
        self.count_full_read();
        if let Some(e) = self.fds.borrow_mut().get_mut(fd) {
            e.ready &= !READ;
            if !e.probing {
                e.probing = true;
                self.probe.borrow_mut().push(fd);
            }
        }
    }

    /// The batched probe: one `poll(2)` (zero timeout) over the fds [`defer_to_probe`]
    /// queued; each that still holds bytes (or reports an error, a hang-up or an invalid fd)
    /// becomes readable again, its readers' wakers go to `wakers`. Returns how many fds were
    /// found readable. Also decides the next interval's read mode ([`PROBE_MIN`]).
    ///
    /// [`defer_to_probe`]: Self::defer_to_probe
    fn run_probe(&self, wakers: &mut Vec<Waker>) -> usize {
        // An interval without full reads says nothing: the mode stays (an idle poll between two
        // bursts of an echo does not turn it off).
        let full = self.full_reads.take();
        if full > 0 {
            self.probe_mode.set(full >= PROBE_MIN);
        }
        let mut list = self.probe.borrow_mut();
        if list.is_empty() {
            return 0;
        }
        let mut pfds = self.probe_fds.borrow_mut();
        pfds.clear();
        pfds.extend(list.iter().map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }));
        let all_ready = loop {
            // SAFETY: `pfds` is a live, exclusively borrowed array of `pfds.len()` `pollfd`s,
            // which `poll` reads and whose `revents` it writes; the fd numbers are only looked
            // at by the kernel (a closed one reports `POLLNVAL`).
            let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, 0) };
            if r >= 0 {
                break false;
            }
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                // Cannot ask: every queued fd is treated as readable (its readers retry their
                // read, which reports what is wrong or returns `EAGAIN` and waits).
                break true;
            }
        };
        let mut fds = self.fds.borrow_mut();
        let mut found = 0;
        for p in pfds.iter() {
            let Some(e) = fds.get_mut(p.fd) else { continue };
            if !e.probing {
                continue;
            }
            e.probing = false;
            if all_ready || p.revents != 0 {
                e.ready |= READ;
                e.readers.take_all(wakers);
                found += 1;
            }
        }
        list.clear();
        found
    }

    /// A `sock_*` wait: registers a new waiter for `dir` on `fd` with `waker` and makes sure the
    /// fd is registered (the kernel reports readiness that arrived before). Returns the
    /// waiter's id.
    pub(crate) fn wait(
        &self,
        poller: &Poller,
        fd: RawFd,
        dir: u8,
        waker: &Waker,
    ) -> io::Result<WaiterId> {
        let mut fds = self.fds.borrow_mut();
        let entry = fds.get_or_default(fd);
        if entry.armed == Some(Armed::Edge) && !entry.level() {
            // Already registered for good (what `sync` would find): trust it, to be confirmed
            // before anything could strand this waiter.
            return Ok(self.register_edge(fd, entry, dir, waker));
        }
        let id = self.ids.borrow_mut().next_id();
        entry.waiters(dir).insert(id, waker);
        let res = self.sync(poller, fd, &mut fds);
        if let Ok(()) = res {
            if let Some(entry) = fds.get_mut(fd) {
                entry.ready &= !dir;
            }
        }
        if let Err(e) = res {
            let waker = fds.get_mut(fd).and_then(|e| e.waiters(dir).remove(id));
            if fds
                .get(fd)
                .is_some_and(|e| e.wanted() == 0 && e.armed.is_none())
            {
                fds.remove(fd);
            }
            drop(fds);
            drop(waker);
            return Err(e);
        }
        Ok(id)
    }

    /// `wait`'s fast path, for an entry registered edge-triggered without callbacks (in the
    /// caller's borrow of the table): a new waiter for `dir` with `waker`, trusted unconfirmed.
    #[inline(never)]
    fn register_edge(&self, fd: RawFd, e: &mut FdEntry, dir: u8, waker: &Waker) -> WaiterId {
        let id = self.ids.borrow_mut().next_id();
        e.waiters(dir).insert(id, waker);
        self.mark_unconfirmed(fd, e);
        e.ready &= !dir;
        id
    }

    /// A waiter registered on `fd`'s edge-triggered registration without a syscall: unless
    /// the entry is already unconfirmed, it is from now on; unless it is already queued for
    /// confirmation, it is queued.
    #[inline]
    fn mark_unconfirmed(&self, fd: RawFd, entry: &mut FdEntry) {
        if entry.unconfirmed.is_none() {
            let now = self.polls.get();
            entry.unconfirmed = Some(now);
            if entry.queued.is_none() {
                entry.queued = Some(now);
                self.unconfirmed.borrow_mut().push_back((fd, now));
            }
        }
    }

    /// A `sock_*` wait was dropped before it completed: removes its own registration (if it
    /// was not woken meanwhile), and nobody else's.
    pub(crate) fn cancel_wait(&self, fd: RawFd, dir: u8, id: WaiterId) {
        let waker = self
            .fds
            .borrow_mut()
            .get_mut(fd)
            .and_then(|e| e.waiters(dir).remove(id));
        drop(waker);
    }

    /// For a `run_*` call that stopped: the poller's error, if its `wait` failed (and stopped
    /// the loop) since the last call.
    pub(crate) fn take_error(&self) -> Result<(), RunError> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(RunError::Poller((&e).into())),
            None => Ok(()),
        }
    }

    /// Confirms the edge-triggered registrations that waiters trust without a syscall: all of
    /// them (`all`), or those whose waiters are unconfirmed for [`CONFIRM_AFTER_POLLS`] polls
    /// (looked at when their item is that old: so within twice that many polls). One
    /// `epoll_ctl` each (`MOD`, or `ADD` if the fd number was closed and reused since); if that
    /// fails, the entry's waiters are woken to retry their syscall, which reports the error.
    /// An entry whose unconfirmed waiters are younger is queued again. Returns how many
    /// waiters were woken.
    fn confirm(&self, poller: &Poller, all: bool, wakers: &mut Vec<Waker>) -> usize {
        let mut list = self.unconfirmed.borrow_mut();
        let mut fds = self.fds.borrow_mut();
        let before = wakers.len();
        let now = self.polls.get();
        while let Some(&(fd, queued)) = list.front() {
            if !all && now.saturating_sub(queued) < CONFIRM_AFTER_POLLS {
                break;
            }
            list.pop_front();
            let Some(entry) = fds.get_mut(fd) else {
                continue;
            };
            // An item its entry does not name is stale (the entry was made again since).
            if entry.queued != Some(queued) {
                continue;
            }
            entry.queued = None;
            let Some(since) = entry.unconfirmed else {
                // Confirmed, or its waiters served, since: nothing to do.
                continue;
            };
            if entry.armed != Some(Armed::Edge) || entry.nobody_waits() {
                entry.unconfirmed = None;
                continue;
            }
            if !all && now.saturating_sub(since) < CONFIRM_AFTER_POLLS {
                // Waiters that came after the item was queued: look again later.
                entry.queued = Some(now);
                list.push_back((fd, now));
                continue;
            }
            entry.unconfirmed = None;
            if arm_as(poller, fd, Armed::Edge, true).is_err() {
                entry.armed = None;
                entry.readers.take_all(wakers);
                entry.writers.take_all(wakers);
            }
        }
        wakers.len() - before
    }

    /// One `wait` of the poller into `events`, the error kept for [`take_error`](Self::take_error).
    fn wait_events(
        &self,
        poller: &Poller,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> Result<usize, PollFailed> {
        self.polls.set(self.polls.get() + 1);
        events.clear();
        poller.wait(events, timeout).map_err(|e| {
            *self.error.borrow_mut() = Some(e);
            PollFailed
        })
    }

    /// Waits for events (at most `timeout`) and dispatches them: callbacks go to `ready`,
    /// wakers are woken after every borrow is released. Returns how many events arrived (and
    /// waiters woken by a failed confirmation).
    ///
    /// With unconfirmed waiters (see the module docs), the poller is first asked without
    /// blocking; only if that brings nothing are they confirmed, and then the real wait made.
    ///
    /// # Errors
    ///
    /// If the poller's `wait` fails: the error is kept for [`take_error`](Self::take_error),
    /// and the caller stops the loop (asyncio: the selector's error propagates out of `run_*`).
    pub(crate) fn poll(
        &self,
        shared: &Shared,
        ready: &ReadyQueue,
        timeout: Option<Duration>,
    ) -> Result<usize, PollFailed> {
        self.since_poll.set(0);
        let mut wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        // Sockets whose plain read filled the buffer: those that still hold bytes are ready
        // work (their readers are woken now, outside every borrow), so the wait below must
        // not block.
        // (Most polls have nothing to probe: two loads, no call.)
        let probed = if self.full_reads.get() == 0 && self.probe.borrow().is_empty() {
            0
        } else {
            self.run_probe(&mut wakers)
        };
        if probed > 0 {
            // Only found fds woke readers.
            for w in wakers.drain(..) {
                w.wake();
            }
        }
        let timeout = if probed > 0 {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        let poller = shared.poller();
        let mut events_slot = self.events.borrow_mut();
        let events = events_slot.get_or_insert_with(Events::new);
        let n = probed
            + if self.unconfirmed.borrow().is_empty() {
                self.wait_any(shared, events, &mut wakers, timeout)?
            } else if probed > 0 {
                // The probe found work: this poll does not block, so nothing needs confirming
                // first; a loop that never blocks still confirms its oldest waits.
                let n = self.wait_any(shared, events, &mut wakers, timeout)?;
                n + self.confirm(poller, false, &mut wakers)
            } else {
                let n = crate::park::probe_then_block(
                    shared.park(),
                    &mut Confirming {
                        reactor: self,
                        shared,
                        poller,
                        events: &mut *events,
                        wakers: &mut wakers,
                        timeout,
                    },
                )?;
                // A loop that never blocks still confirms its oldest waits.
                n + self.confirm(poller, false, &mut wakers)
            };
        if n == 0 {
            self.own_ready.set(false);
            // (Nothing was dispatched, so normally nothing to wake.)
            for w in wakers.drain(..) {
                w.wake();
            }
            *self.wakers.borrow_mut() = wakers;
            return Ok(0);
        }
        let mut failed = Vec::new();
        // A level-triggered fd among the events, i.e. one with an `add_reader`/`add_writer`
        // callback for a direction reported (all the events came from the loop's own poller:
        // a driver's events were dispatched as it was polled): see `own_ready`.
        let mut level = false;
        {
            let mut fds = self.fds.borrow_mut();
            for ev in events.iter() {
                if ev.key & SOURCE_BIT != 0 {
                    shared
                        .sources()
                        .dispatch(ev.key & !SOURCE_BIT, ev, &mut wakers);
                    continue;
                }
                let fd = ev.key as RawFd;
                let Some(entry) = fds.get_mut(fd) else {
                    continue;
                };
                if ev.readable {
                    entry.ready |= READ;
                    if let Some(cb) = &entry.reader {
                        // A callback's fd is registered level-triggered.
                        level = true;
                        ready.push_after_collect(Ready::Callback(cb.clone()));
                    }
                    entry.readers.take_all(&mut wakers);
                }
                if ev.writable {
                    entry.ready |= WRITE;
                    if let Some(cb) = &entry.writer {
                        level = true;
                        ready.push_after_collect(Ready::Callback(cb.clone()));
                    }
                    entry.writers.take_all(&mut wakers);
                }
                if entry.nobody_waits() {
                    entry.unconfirmed = None;
                }
                match entry.armed {
                    Some(Armed::Level(bits)) if entry.wanted() != bits => {
                        // Level-triggered with a direction nobody waits for any more (a served
                        // waiter): drop that interest lazily, now that it fired.
                        let wanted = entry.wanted();
                        if wanted == 0 {
                            delete(poller, fd);
                            entry.armed = None;
                        } else {
                            let want = if entry.level() {
                                Armed::Level(wanted)
                            } else {
                                Armed::Edge
                            };
                            match arm_as(poller, fd, want, true) {
                                Ok(()) => entry.armed = Some(want),
                                // The kernel keeps the wider interest: spurious events only,
                                // and another try after the next one. Tell the user.
                                Err(e) => failed.push((fd, e)),
                            }
                        }
                    }
                    // Edge-triggered: nothing to re-arm, ever.
                    _ => {}
                }
            }
            for (fd, e) in failed {
                ready.push_after_collect(Ready::Callback(report_rearm_error(fd, e)));
            }
        }
        self.own_ready.set(level);
        drop(events_slot);
        for w in wakers.drain(..) {
            w.wake();
        }
        *self.wakers.borrow_mut() = wakers;
        Ok(n)
    }

    /// Drops every registration (loop close), returning the callbacks and wakers to drop.
    pub(crate) fn clear(&self, poller: &Poller) -> Vec<FdEntry> {
        self.unconfirmed.borrow_mut().clear();
        self.probe.borrow_mut().clear();
        let fds = self.fds.borrow_mut().drain();
        fds.into_iter()
            .map(|(fd, entry)| {
                if entry.armed.is_some() {
                    delete(poller, fd);
                }
                entry
            })
            .collect()
    }
}

/// [`LocalReactor::poll`] with unconfirmed waiters: probe without blocking, and only if that
/// brings nothing (and no wake-up is pending) confirm them all, then wait
/// ([`probe_then_block`](crate::park::probe_then_block)).
struct Confirming<'a> {
    /// The reactor.
    reactor: &'a LocalReactor,
    /// The loop's shared half (its poller, its [`driver::IoDriver`] if any).
    shared: &'a Shared,
    /// Its poller.
    poller: &'a Poller,
    /// The events buffer.
    events: &'a mut Events,
    /// Wakers of waiters whose confirmation failed.
    wakers: &'a mut Vec<Waker>,
    /// The loop's timeout for the blocking poll.
    timeout: Option<Duration>,
}

impl crate::park::Probe for Confirming<'_> {
    type Error = PollFailed;

    fn probe(&mut self) -> Result<usize, PollFailed> {
        self.reactor
            .wait_any(self.shared, self.events, self.wakers, Some(Duration::ZERO))
    }

    fn prepare(&mut self) -> usize {
        self.reactor.confirm(self.poller, true, self.wakers)
    }

    fn block(&mut self) -> Result<usize, PollFailed> {
        self.reactor
            .wait_any(self.shared, self.events, self.wakers, self.timeout)
    }
}

/// One [`Async`](crate::Async) registration.
pub(crate) struct Source {
    /// The registered fd.
    pub(crate) fd: RawFd,
    /// Its key (`SOURCE_BIT | index`).
    pub(crate) key: usize,
    /// Readiness and waiters, locked by the loop thread on events and by pollers.
    pub(crate) waiters: SourceWaiters,
}

/// Sources by index, and the free indices.
type Slab = (Vec<Option<Arc<Source>>>, Vec<usize>);

/// The slab of [`Source`]s, shared with other threads (an `Async` may be polled anywhere).
#[derive(Default)]
pub(crate) struct SharedSources {
    /// Entries and free list.
    slab: Mutex<Slab>,
}

impl SharedSources {
    /// Whether no source is registered.
    pub(crate) fn is_empty(&self) -> bool {
        let slab = self.slab.lock();
        slab.0.len() == slab.1.len()
    }

    /// Registers `fd` edge-triggered for both directions.
    pub(crate) fn insert(&self, poller: &Poller, fd: RawFd) -> io::Result<Arc<Source>> {
        let mut slab = self.slab.lock();
        let index = match slab.1.pop() {
            Some(i) => i,
            None => {
                slab.0.push(None);
                slab.0.len() - 1
            }
        };
        let key = SOURCE_BIT | index;
        let source = Arc::new(Source {
            fd,
            key,
            waiters: SourceWaiters::new(),
        });
        let mode = if poller.supports_edge() {
            PollMode::Edge
        } else {
            PollMode::Level
        };
        if let Err(e) = add(poller, fd, Event::all(key), mode) {
            slab.1.push(index);
            return Err(e);
        }
        slab.0[index] = Some(source.clone());
        Ok(source)
    }

    /// Deregisters `source`.
    pub(crate) fn remove(&self, poller: &Poller, source: &Source) {
        delete(poller, source.fd);
        let mut slab = self.slab.lock();
        let index = source.key & !SOURCE_BIT;
        if let Some(slot) = slab.0.get_mut(index) {
            if slot.as_ref().is_some_and(|s| std::ptr::eq(&**s, source)) {
                *slot = None;
                slab.1.push(index);
            }
        }
    }

    /// Records an event for source `index` and collects its wakers.
    fn dispatch(&self, index: usize, ev: Event, wakers: &mut Vec<Waker>) {
        let source = self.slab.lock().0.get(index).cloned().flatten();
        let Some(source) = source else { return };
        // Only the epoll backend reports reads that will not wait any more.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let read_closed = ev.read_closed;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let read_closed = false;
        source
            .waiters
            .dispatch(ev.readable, ev.writable, read_closed, wakers);
    }
}

/// A callback reporting that the registration of `fd` could not be updated (to the loop's
/// exception handler, as asyncio reports what goes wrong outside any caller).
fn report_rearm_error(fd: RawFd, e: io::Error) -> Rc<dyn Callback> {
    OnceCell::new_rc(move || {
        let ctx = crate::ExceptionContext::new(format!(
            "updating the poller registration of fd {fd} failed: {e} \
             (was it closed before remove_reader/remove_writer?)"
        ));
        if let Ok(lp) = crate::get_running_loop() {
            lp.call_exception_handler(&ctx);
        }
    })
}
