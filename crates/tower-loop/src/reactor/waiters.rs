//! The reactor's waiter bookkeeping: per-direction lists of wakers to wake on readiness.
//!
//! The loop-thread fd table (the `sock_*` waits) gives each waiter its own [`WaiterId`], so a
//! waiter that goes away (a dropped future) removes only its own registration, never the one a
//! later waiter made since. Without identities, "the waiter of this fd" was whoever registered
//! last: a `sock_recv` dropped after another started on the same socket (a cancelled task
//! unwinding in the same iteration, asyncio's test_sock_client_racing) unregistered the
//! newcomer, which then never woke. With them, the dropped one's removal finds nothing of its
//! own and leaves the newcomer in place; and any number of operations may wait on one fd and
//! direction (each is woken on readiness and retries its syscall). The table keeps a
//! [`Waiters`] per direction in a `RefCell` (no lock) and takes ids from one [`WaiterIds`] per
//! loop, so an id is never reused for another waiter of the same fd, even after the fd's entry
//! was dropped and made again.
//!
//! Each [`Async`](crate::Async) source keeps a [`SourceWaiters`]: its cached readiness and both
//! lists behind one lock; futures on any thread register, the loop's thread dispatches events.
//! There a registration has no identity and stays until the next event of its direction (one
//! per task): a future may be made, polled once and dropped on every poll of a poll-style
//! caller (`tower-exec`'s pipes do), and its task must still be woken. A registration left by a
//! dropped future costs at most one spurious wake-up. Wakers are collected under the lock and
//! woken (or dropped) after it is released.
//!
//! The module knows nothing of fds or pollers, so that the loom models in
//! `tests/loom_waiters.rs` drive this very code; it is exported (hidden) only under
//! `cfg(loom)`, and is crate-private otherwise.
// The items are `pub` for that `cfg(loom)` export; without it the module is private.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use std::fmt;
use std::task::{Poll, Waker};

use tower_coro::poison_free::Mutex;

/// Readable direction bit.
pub const READ: u8 = 0b01;
/// Writable direction bit.
pub const WRITE: u8 = 0b10;

/// The identity of one registration in a [`Waiters`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaiterId(u64);

/// The id of registrations made without identity (an [`Async`](crate::Async)'s);
/// [`WaiterIds`] never hands it out.
const ANONYMOUS: WaiterId = WaiterId(0);

/// Hands out [`WaiterId`]s, each once (`WaiterIds::default()` has handed out none).
#[derive(Debug, Default)]
pub struct WaiterIds {
    /// The last id handed out (0: none yet).
    last: u64,
}

impl WaiterIds {
    /// A fresh id (2^64 ids before one could come back).
    pub fn next_id(&mut self) -> WaiterId {
        self.last = self.last.wrapping_add(1).max(1);
        WaiterId(self.last)
    }
}

/// The waiters of one direction of one fd, in registration order (`Waiters::default()` is
/// empty).
#[derive(Default)]
pub struct Waiters {
    /// Each registration and the waker to wake for it.
    list: Vec<(WaiterId, Waker)>,
}

impl fmt::Debug for Waiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiters")
            .field("len", &self.list.len())
            .finish()
    }
}

impl Waiters {
    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Registers waiter `id` with `waker`.
    pub fn insert(&mut self, id: WaiterId, waker: &Waker) {
        self.list.push((id, waker.clone()));
    }

    /// If `id` is still registered (not woken, not removed), makes `waker` the one it wakes and
    /// returns `true`; otherwise returns `false`: its wake-up came (or it was removed).
    pub fn refresh(&mut self, id: WaiterId, waker: &Waker) -> bool {
        match self.list.iter_mut().find(|(i, _)| *i == id) {
            Some((_, w)) => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Removes registration `id`, if it is still there, and returns its waker, for the caller
    /// to drop once it released its borrow or lock. Other registrations are left alone.
    pub fn remove(&mut self, id: WaiterId) -> Option<Waker> {
        let at = self.list.iter().position(|(i, _)| *i == id)?;
        Some(self.list.remove(at).1)
    }

    /// Registers `waker` without an identity, unless an anonymous registration already wakes
    /// the same task. Anonymous registrations leave only when woken.
    pub fn insert_anonymous(&mut self, waker: &Waker) {
        let dup = self
            .list
            .iter()
            .any(|(i, w)| *i == ANONYMOUS && w.will_wake(waker));
        if !dup {
            self.list.push((ANONYMOUS, waker.clone()));
        }
    }

    /// Moves every registration's waker to `out` (to be woken after the borrow or lock is
    /// released), leaving the list empty.
    #[inline]
    pub fn take_all(&mut self, out: &mut Vec<Waker>) {
        // Nobody, or one waiter, is what an event finds nearly always: without the drain
        // iterator (~65 instructions for an empty or one-item list).
        match self.list.len() {
            0 => {}
            1 => {
                if let Some((_, w)) = self.list.pop() {
                    out.push(w);
                }
            }
            _ => out.extend(self.list.drain(..).map(|(_, w)| w)),
        }
    }
}

/// The readiness state of a shared source, under its lock.
#[derive(Default)]
struct SourceState {
    /// `READ | WRITE` bits seen since last cleared.
    ready: u8,
    /// Bumped on every event, so a clear racing with a new event does not lose it.
    tick: u64,
    /// An event said reads will not wait any more (end of stream, hang-up, error): a short read
    /// no longer clears the read readiness (as tokio's `READ_CLOSED`), since no edge would come
    /// to set it back.
    read_closed: bool,
    /// Waiting for readability.
    readers: Waiters,
    /// Waiting for writability.
    writers: Waiters,
}

/// The cached readiness and the waiters of an [`Async`](crate::Async) source: polled from any
/// thread, dispatched by the loop's thread.
#[derive(Default)]
pub struct SourceWaiters {
    /// Readiness, tick and both lists.
    state: Mutex<SourceState>,
}

impl fmt::Debug for SourceWaiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        f.debug_struct("SourceWaiters")
            .field("ready", &st.ready)
            .field("tick", &st.tick)
            .field("readers", &st.readers)
            .field("writers", &st.writers)
            .finish()
    }
}

impl SourceWaiters {
    /// No readiness seen, nobody waiting.
    pub fn new() -> Self {
        SourceWaiters::default()
    }

    /// The current event tick.
    pub fn tick(&self) -> u64 {
        self.state.lock().tick
    }

    /// `Ready(tick)` if `dir` is ready; otherwise registers `waker` until the next event of
    /// `dir` (once per task) and returns `Pending`. The check and the registration are one
    /// critical section, so an event is either seen here or wakes `waker`.
    pub fn poll_ready(&self, dir: u8, waker: &Waker) -> Poll<u64> {
        let mut st = self.state.lock();
        if st.ready & dir != 0 {
            return Poll::Ready(st.tick);
        }
        if dir == READ {
            st.readers.insert_anonymous(waker);
        } else {
            st.writers.insert_anonymous(waker);
        }
        Poll::Pending
    }

    /// An operation on `dir` reported `WouldBlock`: forgets the readiness of `dir`, unless an
    /// event arrived since `tick` (the tick the operation's attempt started from).
    pub fn clear(&self, dir: u8, tick: u64) {
        let mut st = self.state.lock();
        if st.tick == tick {
            st.ready &= !dir;
        }
    }

    /// A read returned fewer bytes than asked (the short-read rule of `Async`'s stream
    /// sockets): forgets the read readiness as [`clear`](Self::clear) does, unless an event
    /// said reads will not wait any more (the end of stream came with the last bytes: no edge
    /// would come for it). `WouldBlock` itself always clears (the kernel said so), so a source
    /// marked read-closed never spins.
    pub fn clear_short(&self, tick: u64) {
        let mut st = self.state.lock();
        if st.tick == tick && !st.read_closed {
            st.ready &= !READ;
        }
    }

    /// An event: records the readiness and moves the wakers of the ready directions to `out`,
    /// for the caller to wake once this returned. `read_closed`: the event said reads will not
    /// wait any more (end of stream, hang-up, error; only the epoll backend reports it): from
    /// now on a short read leaves the read readiness set ([`clear_short`](Self::clear_short)).
    pub fn dispatch(
        &self,
        readable: bool,
        writable: bool,
        read_closed: bool,
        out: &mut Vec<Waker>,
    ) {
        let mut st = self.state.lock();
        st.tick = st.tick.wrapping_add(1);
        st.read_closed |= read_closed;
        if readable {
            st.ready |= READ;
            st.readers.take_all(out);
        }
        if writable {
            st.ready |= WRITE;
            st.writers.take_all(out);
        }
    }
}
