//! [`IoDriver`]: one poller shared by a group of loops (a multi-thread runtime's workers) for
//! the [`Async`](crate::Async) sources registered on any of them, polled by whichever loop
//! blocks while no other loop is blocked on it (docs/decisions/0011-multi-thread-io.md).
//!
//! # Why
//!
//! Each loop has its own poller (`E`). With `Async` sources registered on the poller of the
//! loop that created them, a runtime worker with nothing to run blocks in its own poller while
//! another worker's sockets are ready, and a ping-pong between tasks on two workers wakes a
//! blocked thread out of `epoll_pwait` at every message.
//!
//! # How
//!
//! The driver is a second epoll instance (`S`) holding every `Async` source of the group
//! (keys `SOURCE_BIT | index`, as a loop's own sources) and, nested, every member loop's own
//! poller `E_i` (key `LOOP_BIT | i`, edge-triggered: `S` reports `E_i` when `E_i` gets a new
//! event). One member at a time, the **holder**, polls `S` instead of its own `E`: one
//! `epoll_pwait` serves its own fds, its cross-thread wake-ups (through `E_i`) and every
//! shared source; when `S` reports its own `E_i`, it then polls `E_i` without blocking (if its
//! loop has fds or sources of its own: else `E_i` holds only the wake-up eventfd). The
//! other members poll their own `E` as before. Source wakers are woken on the polling thread,
//! so a multi-thread runtime schedules the woken tasks on that worker (and spreads them from
//! there): tasks doing I/O gather on the worker that polls, as on tokio's driver.
//!
//! **Who holds** ([`DriverRole`], one atomic word): a member about to block takes the role
//! if nobody holds it or the holder is not blocked (it is running, so it would not see the
//! events until it polls again); the holder keeps it while it runs, and polls `S` (with a zero
//! timeout) at each of its polls. So while every member is blocked, one of them is blocked on
//! `S`, and a member never blocks on its own poller while the holder runs.
//!
//! **An edge of another member's `E_j`** consumed from `S` by the holder (it only tells that
//! `E_j` has events; `j` reads them from `E_j`): `j` reads `E_j` itself when it polls it; the
//! one case where it would not is `j` holding the role and blocked on `S`, its edge gone. The
//! consumer therefore records the loss ([`DriverRole::edge_lost`]) and, if `j` holds the role
//! blocked, writes `j`'s wake-up eventfd (a new edge of `E_j`); `j` checks the record after
//! taking the role ([`DriverRole::take_lost`]) and then polls `E_j` too. Each side makes two
//! read-modify-writes, one on each word, so at least one sees the other (loom:
//! `tests/loom_driver.rs`).
//!
//! **Level-triggered fds of a member's own poller** (`add_reader`/`add_writer` callbacks): the
//! kernel puts such a fd back in `E_i`'s ready list after reporting it, without a new edge in
//! `S`, so what it still has (a pipe's end of stream after its data) would never reach the
//! holder blocked on `S`. A poll that reported one sets the loop's `own_ready`, and the holder
//! then polls `E_i` once more without blocking ([`DriverRole::must_poll_own`]); an
//! edge-triggered event or a bare wake-up does not (each new readiness of those is a new edge).

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::{Arc, OnceLock, Weak};
use std::task::Waker;
use std::time::Duration;

use super::backend::{Event, Events, PollMode, Poller};
use super::{LocalReactor, PollFailed, SOURCE_BIT, SharedSources};
use crate::event_loop::EventLoop;
use crate::loom::{AtomicBool, AtomicUsize, Ordering};
use crate::loop_handle::Shared;

/// Keys with this bit set (and not [`SOURCE_BIT`]) name a member loop's own poller in `S`.
const LOOP_BIT: usize = 1 << (usize::BITS - 3);

/// The role word's "blocked on `S`" bit; the holder's index + 1 is stored above it.
const BLOCKED: usize = 1;

/// Who polls the shared poller (see the module docs): one word, `(holder + 1) << 1 | BLOCKED`
/// (0: nobody yet), and one "edge lost" flag per member.
///
/// ```
/// # #[cfg(loom)] fn main() {}
/// # #[cfg(not(loom))] fn main() {
/// use tower_loop::io_driver::DriverRole;
///
/// let role = DriverRole::new(2);
/// assert!(role.begin_block(0)); // nobody held it: worker 0 blocks on the shared poller
/// assert!(!role.begin_block(1)); // 0 is blocked on it: 1 blocks on its own poller
/// role.end_block(0); // 0 woke up and runs
/// assert!(role.holds(0)); // it still polls the shared poller (without blocking)
/// assert!(role.begin_block(1)); // 1 has nothing to run: it takes the role from the runner
/// assert!(!role.holds(0));
/// assert!(role.edge_lost(1)); // 0 consumed 1's edge while 1 blocks on it: wake 1
/// assert!(role.take_lost(1)); // (1 polls its own poller too)
/// # }
/// ```
pub struct DriverRole {
    /// `(holder + 1) << 1 | BLOCKED`, or 0.
    state: AtomicUsize,
    /// `lost[i]`: an edge of member `i`'s own poller was consumed by another member.
    lost: Box<[AtomicBool]>,
}

impl fmt::Debug for DriverRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("DriverRole")
            .field("holder", &(s >> 1).checked_sub(1))
            .field("blocked", &(s & BLOCKED != 0))
            .finish()
    }
}

impl DriverRole {
    /// The role of a group of `members` loops, held by nobody.
    pub fn new(members: usize) -> DriverRole {
        DriverRole {
            state: AtomicUsize::new(0),
            lost: (0..members).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Member `me` is about to block: `true` if it holds the role now (it took it, or kept
    /// it) and is recorded blocked on the shared poller, `false` if another member is blocked
    /// on it (then `me` blocks on its own poller).
    pub fn begin_block(&self, me: usize) -> bool {
        let mine = (me + 1) << 1;
        let mut s = self.state.load(Ordering::SeqCst);
        loop {
            if s >> 1 != me + 1 && s & BLOCKED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                mine | BLOCKED,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// The holder `me`, blocked since [`begin_block`](Self::begin_block) returned `true`, is
    /// running again (it keeps the role). Nobody else changes the word while it is blocked.
    pub fn end_block(&self, me: usize) {
        self.state.store((me + 1) << 1, Ordering::SeqCst);
    }

    /// Whether `me` holds the role (a running holder polls the shared poller).
    pub fn holds(&self, me: usize) -> bool {
        self.state.load(Ordering::SeqCst) >> 1 == me + 1
    }

    /// The holder, polling the shared poller, consumed an edge of member `of`'s own poller:
    /// records it; returns `true` if `of` holds the role and is blocked on the shared poller
    /// (the caller must then make a new edge: write `of`'s wake-up).
    pub fn edge_lost(&self, of: usize) -> bool {
        // Read-modify-writes on both sides (here and in `begin_block` + `take_lost`), not a
        // store and a load: each side's second one then reads what the other's first wrote, or
        // precedes it in its word's modification order and synchronizes with it — the
        // guarantee the loom model checks (loom does not model `SeqCst` loads' total order).
        self.lost[of].swap(true, Ordering::AcqRel);
        self.state.fetch_add(0, Ordering::AcqRel) == ((of + 1) << 1 | BLOCKED)
    }

    /// Member `me`, holding the role: whether an edge of its own poller was consumed by
    /// another member since it last asked (it must then poll its own poller too).
    pub fn take_lost(&self, me: usize) -> bool {
        self.lost[me].swap(false, Ordering::AcqRel)
    }

    /// Member `me`, holding the role, about to poll the shared poller: whether it must also
    /// poll its own poller, without blocking on the shared one — an edge of its own poller was
    /// consumed by another member ([`take_lost`](Self::take_lost)), or `level_left`: its last
    /// poll reported a level-triggered fd, which its own poller keeps ready without a new edge
    /// in the shared poller (a pipe's end of stream after its data). Nothing else (a bare
    /// wake-up, an edge-triggered event) makes it poll without blocking.
    ///
    /// ```
    /// # #[cfg(loom)] fn main() {}
    /// # #[cfg(not(loom))] fn main() {
    /// use tower_loop::io_driver::DriverRole;
    ///
    /// let role = DriverRole::new(2);
    /// assert!(role.begin_block(0));
    /// assert!(!role.must_poll_own(0, false)); // it may block on the shared poller
    /// assert!(role.must_poll_own(0, true)); // a level-triggered fd was ready last time
    /// assert!(role.edge_lost(0)); // 1 consumed 0's edge while 0 blocks on the shared poller
    /// assert!(role.must_poll_own(0, false));
    /// # }
    /// ```
    pub fn must_poll_own(&self, me: usize, level_left: bool) -> bool {
        // Always asked: the record is cleared whatever `level_left` says.
        self.take_lost(me) | level_left
    }
}

/// One poller shared by a group of event loops for their [`Async`](crate::Async) sources
/// (see the module docs): a multi-thread runtime makes one and installs it on each worker's
/// loop with [`EventLoop::set_io_driver`](crate::EventLoop::set_io_driver). An `Async` made
/// on a member loop is registered with the driver, and its events are delivered by whichever
/// member polls the driver.
///
/// On platforms other than Linux and Android, installing a driver does nothing: each loop
/// keeps its own sources.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use tower_loop::{Async, EventLoop, IoDriver};
///
/// let driver = IoDriver::new(1).unwrap();
/// let lp = EventLoop::new().unwrap();
/// lp.set_io_driver(&driver, 0).unwrap();
/// let n = lp.run_until_complete(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
///     b.write_with(|mut s| s.write(b"ping")).await.unwrap();
///     let mut buf = [0; 8];
///     a.read_with(|mut s| s.read(&mut buf)).await.unwrap()
/// })
/// .unwrap();
/// assert_eq!(n, 4);
/// ```
pub struct IoDriver {
    /// The shared poller `S`.
    poller: Poller,
    /// The sources registered with `S`.
    sources: SharedSources,
    /// Who polls `S`.
    role: DriverRole,
    /// Member `i`'s shared half (its wake-up), set when it joins.
    loops: Box<[OnceLock<Weak<Shared>>]>,
}

impl fmt::Debug for IoDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoDriver")
            .field("members", &self.loops.len())
            .field("role", &self.role)
            .finish()
    }
}

impl IoDriver {
    /// A driver for a group of `members` loops (one epoll instance).
    ///
    /// # Errors
    ///
    /// If the OS refuses the poller.
    pub fn new(members: usize) -> io::Result<Arc<IoDriver>> {
        Ok(Arc::new(IoDriver {
            poller: Poller::new()?,
            sources: SharedSources::default(),
            role: DriverRole::new(members),
            loops: (0..members).map(|_| OnceLock::new()).collect(),
        }))
    }

    /// The shared poller.
    pub(crate) fn poller(&self) -> &Poller {
        &self.poller
    }

    /// The shared sources.
    pub(crate) fn sources(&self) -> &SharedSources {
        &self.sources
    }

    /// Member `index` joins with its loop's shared half: its own poller is nested in `S`.
    pub(crate) fn join(&self, index: usize, shared: &Arc<Shared>) -> io::Result<()> {
        let slot = self
            .loops
            .get(index)
            .ok_or_else(|| io::Error::other("io driver: member index out of range"))?;
        if slot.set(Arc::downgrade(shared)).is_err() {
            return Err(io::Error::other("io driver: member index already taken"));
        }
        let ev = Event::new(LOOP_BIT | index, true, false);
        // SAFETY: the number is only handed to `epoll_ctl`; the member's poller outlives its
        // registration (the kernel drops it when that epoll fd is closed).
        unsafe {
            self.poller
                .add_with_mode(shared.poller().as_fd().as_raw_fd(), ev, PollMode::Edge)
        }
    }

    /// Polls `S` into `events` for member `me` and dispatches the source events (wakers to
    /// `wakers`). Returns the number of source events and whether `me`'s own poller reported
    /// an edge.
    fn poll_shared(
        &self,
        me: usize,
        events: &mut Events,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
    ) -> io::Result<(usize, bool)> {
        events.clear();
        self.poller.wait(events, timeout)?;
        let (mut n, mut own) = (0, false);
        for ev in events.iter() {
            if ev.key & SOURCE_BIT != 0 {
                self.sources.dispatch(ev.key & !SOURCE_BIT, ev, wakers);
                n += 1;
            } else if ev.key & LOOP_BIT != 0 {
                let of = ev.key & !LOOP_BIT;
                if of == me {
                    own = true;
                } else if self.role.edge_lost(of) {
                    self.wake_member(of);
                }
            }
        }
        events.clear();
        Ok((n, own))
    }

    /// Writes member `of`'s wake-up eventfd (a new edge of its poller), whatever its park
    /// word says: the edge its last wake-up made may be the one just consumed.
    fn wake_member(&self, of: usize) {
        if let Some(shared) = self.loops[of].get().and_then(Weak::upgrade) {
            let _ = shared.poller().notify();
        }
    }
}

impl LocalReactor {
    /// Whether the loop's own poller holds anything but its wake-up eventfd.
    fn has_own_registrations(&self, shared: &Shared) -> bool {
        !self.fds.borrow().is_empty() || !shared.sources().is_empty()
    }

    /// One wait of a loop (at most `timeout`) into `events`: on its own poller, or, for the
    /// holder of its [`IoDriver`]'s role, on the shared poller (source events dispatched into
    /// `wakers` and counted), then on its own poller without blocking if that reported an
    /// edge of it. Returns the number of events.
    pub(super) fn wait_any(
        &self,
        shared: &Shared,
        events: &mut Events,
        wakers: &mut Vec<Waker>,
        timeout: Option<Duration>,
    ) -> Result<usize, PollFailed> {
        let Some((driver, me)) = shared.io_driver() else {
            return self.wait_events(shared.poller(), events, timeout);
        };
        let blocking = timeout != Some(Duration::ZERO);
        let holds = if blocking {
            driver.role.begin_block(me)
        } else {
            driver.role.holds(me)
        };
        if !holds {
            // Its events set `own_ready` as they are dispatched (`LocalReactor::poll`).
            return self.wait_events(shared.poller(), events, timeout);
        }
        // A level-triggered fd our own poller reported last time may still be ready (a read
        // that left data or an end of stream behind), and its nesting in the shared poller
        // reports no new edge for it: poll it again.
        let mut own = driver.role.must_poll_own(me, self.own_ready.replace(false));
        // An edge of our own poller went to another member (or events may be left in it): do
        // not block on the shared poller; this iteration polls both without blocking.
        let t = if own { Some(Duration::ZERO) } else { timeout };
        let res = driver.poll_shared(me, events, t, wakers);
        if blocking {
            driver.role.end_block(me);
        }
        let n = match res {
            Ok((n, edge)) => {
                own |= edge;
                n
            }
            Err(e) => {
                *self.error.borrow_mut() = Some(e);
                return Err(PollFailed);
            }
        };
        // A loop without fds or sources of its own has only its wake-up eventfd in its own
        // poller, which is never read (the park word carries the wake-up): no syscall then.
        if own && self.has_own_registrations(shared) {
            Ok(n + self.wait_events(shared.poller(), events, Some(Duration::ZERO))?)
        } else {
            self.polls.set(self.polls.get() + 1);
            Ok(n)
        }
    }
}

impl EventLoop {
    /// Makes this loop member `index` of `driver` (see [`IoDriver`]): [`Async`](crate::Async)
    /// sources made on it from now on are registered with the driver, and the loop polls the
    /// driver when it holds its role. Call it once, before the loop runs and before any
    /// `Async` is made on it. Does nothing on platforms other than Linux and Android.
    ///
    /// # Errors
    ///
    /// If `index` is out of the driver's range or taken, the loop already has a driver, or the
    /// OS refuses to nest the loop's poller in the driver's.
    pub fn set_io_driver(&self, driver: &Arc<IoDriver>, index: usize) -> io::Result<()> {
        if !cfg!(any(target_os = "linux", target_os = "android")) {
            return Ok(());
        }
        let shared = self.core().shared();
        if shared.io_driver().is_some() {
            return Err(io::Error::other("the loop already has an io driver"));
        }
        driver.join(index, shared)?;
        shared
            .set_io_driver(driver.clone(), index)
            .map_err(|()| io::Error::other("the loop already has an io driver"))
    }
}
