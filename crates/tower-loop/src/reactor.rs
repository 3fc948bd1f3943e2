//! The reactor on `polling`: the loop's fd registrations and the dispatch of readiness events.
//!
//! Two kinds of registrations share one poller, told apart by the key's top bit:
//!
//! - **Loop-thread fds** (`add_reader`/`add_writer`, and the waits of the `sock_*` methods),
//!   keyed by the fd number, kept in a loop-local table. With a reader or writer callback the fd
//!   is registered level-triggered (asyncio's selector semantics: the callback runs every
//!   iteration while the fd is ready); with only `sock_*` waiters it is registered one-shot and
//!   re-armed (one `epoll_ctl`) per wait, so a closed-and-reused fd number is never trusted.
//! - **[`Async`](crate::Async) sources**, `Send`, keyed by `SOURCE_BIT | slab index`, registered
//!   edge-triggered once for both directions; readiness is cached in the source until an
//!   operation reports `WouldBlock`.
//!
//! Events are collected in batches (one `wait` per iteration into a reused `Events` buffer);
//! callbacks go to the ready queue, and wakers are collected and woken after every borrow and
//! lock is released. Each `sock_*` waiter has its own registration ([`waiters`]): dropping a
//! wait removes only its own.
//!
//! Errors of the poller are not swallowed: a failed `wait` stops the loop and comes out of
//! `run_forever`/`run_until_complete` (asyncio lets a selector error propagate from
//! `_run_once`); a failed re-arm after an event wakes the `sock_*` waiters it was for (each
//! retries and gets the error from its own registration), and a failed update of an
//! `add_reader`/`add_writer` registration is reported to the loop's exception handler.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
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
#[cfg(not(loom))]
mod waiters;
#[cfg(loom)]
pub mod waiters;

pub(crate) use backend::Poller;
use backend::{Event, Events, PollMode};
pub(crate) use waiters::{READ, SourceWaiters, WRITE, WaiterId};
use waiters::{WaiterIds, Waiters};

/// Poll the reactor (zero timeout) at least once per this many ready items, for I/O fairness.
const EVENT_INTERVAL: usize = 61;

/// Keys with this bit set name an [`Async`](crate::Async) source.
pub(crate) const SOURCE_BIT: usize = 1 << (usize::BITS - 2);

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
    /// What the kernel was last told: `None` if not (knowingly) registered; else the interest
    /// bits and whether the registration is level-triggered (else one-shot).
    armed: Option<(u8, bool)>,
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
}

/// The loop-local half of the reactor.
#[derive(Default)]
pub(crate) struct LocalReactor {
    /// Ready items run since the reactor was last polled: with work ready, the loop polls it
    /// (zero timeout) once this reaches [`EVENT_INTERVAL`].
    since_poll: Cell<usize>,
    /// The events buffer, reused every iteration.
    events: RefCell<Option<Events>>,
    /// Registrations keyed by fd.
    fds: RefCell<HashMap<RawFd, FdEntry>>,
    /// Wakers collected during dispatch, woken after; the buffer is reused.
    wakers: RefCell<Vec<Waker>>,
    /// Ids of `sock_*` waits, one sequence for every fd of the loop (an fd's entry may be
    /// dropped and made again while a stale waiter still holds an id).
    ids: RefCell<WaiterIds>,
    /// The error of the poller's last `wait`, until the running `run_*` call takes it.
    error: RefCell<Option<io::Error>>,
}

/// Registers or re-arms `fd` with `bits` interest.
fn arm(poller: &Poller, fd: RawFd, bits: u8, level: bool, known: bool) -> io::Result<()> {
    let ev = Event::new(fd as usize, bits & READ != 0, bits & WRITE != 0);
    let mode = if level {
        PollMode::Level
    } else {
        PollMode::Oneshot
    };
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
        !self.fds.borrow().is_empty() || !shared.sources().is_empty()
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
        let entry = fds.entry(fd).or_default();
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

    /// Brings the kernel's registration of `fd` in line with its entry (a syscall only when the
    /// level-triggered interest changes; one-shot waits always re-arm).
    fn sync(
        &self,
        poller: &Poller,
        fd: RawFd,
        fds: &mut HashMap<RawFd, FdEntry>,
    ) -> io::Result<()> {
        let Some(entry) = fds.get_mut(&fd) else {
            return Ok(());
        };
        let bits = entry.wanted();
        let level = entry.level();
        if bits == 0 {
            if let Some((_, true)) = entry.armed {
                delete(poller, fd);
                fds.remove(&fd);
            } else if entry.armed.is_none() {
                fds.remove(&fd);
            }
            return Ok(());
        }
        if level && entry.armed == Some((bits, true)) {
            return Ok(());
        }
        let known = entry.armed.is_some();
        match arm(poller, fd, bits, level, known) {
            Ok(()) => {
                entry.armed = Some((bits, level));
                Ok(())
            }
            Err(e) => {
                entry.armed = None;
                Err(e)
            }
        }
    }

    /// A `sock_*` wait: registers a new waiter for `dir` on `fd` with `waker` and arms the fd
    /// (the kernel reports readiness that arrived before). Returns the waiter's id.
    pub(crate) fn wait(
        &self,
        poller: &Poller,
        fd: RawFd,
        dir: u8,
        waker: &Waker,
    ) -> io::Result<WaiterId> {
        let id = self.ids.borrow_mut().next_id();
        let mut fds = self.fds.borrow_mut();
        fds.entry(fd).or_default().waiters(dir).insert(id, waker);
        let res = self.sync(poller, fd, &mut fds);
        if let Err(e) = res {
            let waker = fds.get_mut(&fd).and_then(|e| e.waiters(dir).remove(id));
            if fds
                .get(&fd)
                .is_some_and(|e| e.wanted() == 0 && e.armed.is_none())
            {
                fds.remove(&fd);
            }
            drop(fds);
            drop(waker);
            return Err(e);
        }
        Ok(id)
    }

    /// A `sock_*` wait polled again: `true` if waiter `id` still waits (it now wakes `waker`),
    /// `false` if readiness came since (it was woken and must retry its operation).
    pub(crate) fn refresh(&self, fd: RawFd, dir: u8, id: WaiterId, waker: &Waker) -> bool {
        self.fds
            .borrow_mut()
            .get_mut(&fd)
            .is_some_and(|e| e.waiters(dir).refresh(id, waker))
    }

    /// A `sock_*` wait was dropped before it completed: removes its own registration (if it
    /// was not woken meanwhile), and nobody else's.
    pub(crate) fn cancel_wait(&self, fd: RawFd, dir: u8, id: WaiterId) {
        let waker = self
            .fds
            .borrow_mut()
            .get_mut(&fd)
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

    /// Waits for events (at most `timeout`) and dispatches them: callbacks go to `ready`,
    /// wakers are woken after every borrow is released. Returns how many events arrived.
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
        let poller = shared.poller();
        let mut events_slot = self.events.borrow_mut();
        let events = events_slot.get_or_insert_with(Events::new);
        events.clear();
        let n = match poller.wait(events, timeout) {
            Ok(n) => n,
            Err(e) => {
                *self.error.borrow_mut() = Some(e);
                return Err(PollFailed);
            }
        };
        if n == 0 {
            return Ok(0);
        }
        let mut wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        let mut failed = Vec::new();
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
                let Some(entry) = fds.get_mut(&fd) else {
                    continue;
                };
                if ev.readable {
                    if let Some(cb) = &entry.reader {
                        ready.push_after_collect(Ready::Callback(cb.clone()));
                    }
                    entry.readers.take_all(&mut wakers);
                }
                if ev.writable {
                    if let Some(cb) = &entry.writer {
                        ready.push_after_collect(Ready::Callback(cb.clone()));
                    }
                    entry.writers.take_all(&mut wakers);
                }
                match entry.armed {
                    Some((_, false)) => {
                        // One-shot: the kernel disarmed the fd. Re-arm for a remaining waiter.
                        entry.armed = Some((0, false));
                        let wanted = entry.wanted();
                        if wanted != 0 {
                            if arm(poller, fd, wanted, entry.level(), true).is_ok() {
                                entry.armed = Some((wanted, entry.level()));
                            } else {
                                // The waiters would never be woken: wake them now. Each
                                // retries its operation, and on `EAGAIN` registers again,
                                // which reports the error to it.
                                entry.armed = None;
                                entry.readers.take_all(&mut wakers);
                                entry.writers.take_all(&mut wakers);
                            }
                        }
                    }
                    Some((bits, true)) if entry.wanted() != bits => {
                        // Level-triggered with a direction nobody waits for any more (a served
                        // waiter): drop that interest lazily, now that it fired.
                        let wanted = entry.wanted();
                        let level = entry.level();
                        if wanted == 0 {
                            delete(poller, fd);
                            entry.armed = None;
                        } else {
                            match arm(poller, fd, wanted, level, true) {
                                Ok(()) => entry.armed = Some((wanted, level)),
                                // The kernel keeps the wider interest: spurious events only,
                                // and another try after the next one. Tell the user.
                                Err(e) => failed.push((fd, e)),
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (fd, e) in failed {
                ready.push_after_collect(Ready::Callback(report_rearm_error(fd, e)));
            }
        }
        drop(events_slot);
        for w in wakers.drain(..) {
            w.wake();
        }
        *self.wakers.borrow_mut() = wakers;
        Ok(n)
    }

    /// Drops every registration (loop close), returning the callbacks and wakers to drop.
    pub(crate) fn clear(&self, poller: &Poller) -> Vec<FdEntry> {
        let fds = std::mem::take(&mut *self.fds.borrow_mut());
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
        source.waiters.dispatch(ev.readable, ev.writable, wakers);
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
